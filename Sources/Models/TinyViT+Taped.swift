// TinyViT op by op on a reverse-mode tape, with optional deep visual prompts
// (PromptedWindowAttention.swift): the encoder side of `--mode deep`. The same
// modules as TinyViT.swift, each forward written with taped ops; the fused inference
// kernels stay the path for plain inference.
import Tensors

extension Conv2d {
    /// Recorded on `tape` when the input is tracked; plain inference otherwise.
    func callAsFunction(_ x: Tensor, tape: Tape?) -> Tensor {
        depthwise ? depthwiseConv2d(x, weight: weight, bias: bias, geometry: geometry, tape: tape)
                  : conv2d(x, weight: weight, bias: bias, geometry: geometry, groups: groups, tape: tape)
    }
}

extension Conv2dBN {
    func callAsFunction(_ x: Tensor, tape: Tape?) -> Tensor { conv(x, tape: tape) }
}

extension PatchEmbed {
    func callAsFunction(_ x: Tensor, tape: Tape?) -> Tensor {
        conv2(gelu(conv0(x, tape: tape), tape: tape), tape: tape)
    }
}

extension MBConv {
    func callAsFunction(_ x: Tensor, tape: Tape?) -> Tensor {
        let a = gelu(conv1(x, tape: tape), tape: tape)
        let b = gelu(conv2(a, tape: tape), tape: tape)
        return gelu(add(conv3(b, tape: tape), x, tape: tape), tape: tape)
    }
}

extension PatchMerging {
    func callAsFunction(_ x: Tensor, tape: Tape?) -> Tensor {
        let a = gelu(conv1(x, tape: tape), tape: tape)
        let b = gelu(conv2(a, tape: tape), tape: tape)
        return conv3(b, tape: tape)
    }
}

extension TinyViTBlock {
    /// x (B, H, W, C) → (B, H, W, C), `prompts` (N, C) shared by every window, or nil.
    func callAsFunction(_ x: Tensor, prompts: Tensor?, tape: Tape?) -> Tensor {
        let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let attended: Tensor
        if h == window && w == window {
            let tokens = reshaped(x, [b, h * w, c], tape: tape)
            attended = reshaped(attn(tokens, prompts: prompts, tape: tape), x.shape, tape: tape)
        } else {
            let windows = windowPartition(x, window: window, tape: tape)
            attended = windowUnpartition(attn(windows, prompts: prompts, tape: tape), window: window, height: h, width: w, tape: tape)
        }
        let y = localConv(add(attended, x, tape: tape), tape: tape)
        let hidden = gelu(fc1(mlpNorm(y, tape: tape), tape: tape), tape: tape)
        return add(fc2(hidden, tape: tape), y, tape: tape)
    }
}

extension TinyViT {
    /// The number of attention blocks, each of which takes its own visual prompts.
    public var attentionBlockCount: Int { stages.reduce(0) { $0 + $1.count } }

    /// The width of block `index`'s tokens (its prompts are (N, width)).
    public func attentionBlockWidth(_ index: Int) -> Int {
        var i = index
        for (s, stage) in stages.enumerated() {
            if i < stage.count { return config.embedDims[s + 1] }
            i -= stage.count
        }
        preconditionFailure("TinyViT: no attention block \(index)")
    }

    /// image (1, S, S, 3) → embedding (1, S/4, S/4, 256), op by op. `prompts`: one (N, dim)
    /// tensor per attention block in order (`attentionBlockCount`), or nil. Recorded on
    /// `tape` from whatever it tracks. With neither tape nor prompts this is the fused
    /// inference path (`callAsFunction(_:)`), unchanged.
    public func callAsFunction(_ image: Tensor, prompts: [Tensor]?, tape: Tape?) -> Tensor {
        if tape == nil && prompts == nil { return self(image) }
        precondition(prompts == nil || prompts!.count == attentionBlockCount,
                     "TinyViT: \(prompts!.count) prompt sets for \(attentionBlockCount) attention blocks")
        var x: Tensor
        if tape?.tracks(image) == true {
            x = patchEmbed(image, tape: tape)
            for block in convBlocks { x = block(x, tape: tape) }
            x = merges[0](x, tape: tape)
        } else {
            // Prompts enter at the first attention block: stage 0 is constant, so it
            // takes the fused kernels and records nothing.
            x = patchEmbed(image)
            for block in convBlocks { x = block(x) }
            x = merges[0](x)
        }
        var b = 0
        for (i, stage) in stages.enumerated() {
            for block in stage {
                x = block(x, prompts: prompts?[b], tape: tape)
                b += 1
            }
            if i + 1 < merges.count { x = merges[i + 1](x, tape: tape) }
        }
        let n0 = neck0(x, tape: tape)
        let n1 = neck1(n0, tape: tape)
        return neck3(neck2(n1, tape: tape), tape: tape)
    }
}
