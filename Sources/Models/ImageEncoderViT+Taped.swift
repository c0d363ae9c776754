// SAM's ViT encoder op by op on a reverse-mode tape, with optional deep visual prompts:
// the encoder side of `--mode deep` for SAM ViT-B/L/H and MedSAM. The same modules as
// ImageEncoderViT.swift; VPT-deep as PromptedWindowAttention.swift adapts it to TinyViT:
// - the block's prompts (N, C) go through the block's norm1 and qkv, and their keys and
//   values are appended to every window's (windowed blocks) or to the one global sequence;
// - only image tokens query, so the block's output shape is unchanged;
// - the decomposed relative-position bias covers the image columns; prompt columns get
//   zero bias (promptedRelativePositionAttention, which recomputes the probabilities per
//   head and block of query rows in the backward: a global block of ViT-B keeps no
//   4096 × 4096 matrix).
import Tensors

extension ViTAttention {
    /// tokens (B, n, C) of a window or the whole grid, already normed; `normedPrompts` (N, C)
    /// appended to every sequence's keys and values → (B, n, C).
    func callAsFunction(_ tokens: Tensor, normedPrompts: Tensor?, tape: Tape?) -> Tensor {
        var qkvOut = qkv(tokens, tape: tape)
        if let normedPrompts {
            let promptQKV = qkv(normedPrompts, tape: tape)
            qkvOut = concatenate([qkvOut, repeated(promptQKV, count: tokens.shape[0], tape: tape)], axis: 1, tape: tape)
        }
        return proj(promptedRelativePositionAttention(qkv: qkvOut, heads: heads, relativePosition: rh, rw, tape: tape), tape: tape)
    }
}

extension ViTBlock {
    /// x (1, H, W, C) → (1, H, W, C), `prompts` (N, C) shared by every window, or nil.
    func callAsFunction(_ x: Tensor, prompts: Tensor?, tape: Tape?) -> Tensor {
        let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        if let prompts {
            precondition(prompts.rank == 2 && prompts.shape[1] == c, "ViTBlock: prompts \(prompts.shape) for width \(c)")
        }
        let normed = norm1(x, tape: tape)
        let normedPrompts = prompts.map { norm1($0, tape: tape) }
        let attended: Tensor
        if window > 0 {
            // Upstream pads after norm1, with zeros (window_partition); the padded tokens query and
            // are keys as upstream's are, and are dropped by the unpartition.
            let windows = windowPartition(normed, window: window, tape: tape)
            let out = attn(windows, normedPrompts: normedPrompts, tape: tape)
            attended = windowUnpartition(out, window: window, height: h, width: w, tape: tape)
        } else {
            let tokens = reshaped(normed, [b, h * w, c], tape: tape)
            attended = reshaped(attn(tokens, normedPrompts: normedPrompts, tape: tape), x.shape, tape: tape)
        }
        let residual = add(attended, x, tape: tape)
        let hidden = gelu(lin1(norm2(residual, tape: tape), tape: tape), tape: tape)
        return add(lin2(hidden, tape: tape), residual, tape: tape)
    }
}

extension ImageEncoderViT {
    /// Every block takes its own visual prompts.
    public var attentionBlockCount: Int { blocks.count }

    /// The width of block `index`'s tokens (its prompts are (N, width)): the embedding dim.
    public func attentionBlockWidth(_ index: Int) -> Int {
        precondition(blocks.indices.contains(index), "ImageEncoderViT: no attention block \(index)")
        return config.embedDim
    }

    /// image (1, S, S, 3) → embedding (1, S/16, S/16, outChans), op by op. `prompts`: one (N,
    /// embedDim) tensor per block in order, or nil. Recorded on `tape` from whatever it tracks.
    /// With neither tape nor prompts this is the inference path (`callAsFunction(_:)`), unchanged.
    public func callAsFunction(_ image: Tensor, prompts: [Tensor]?, tape: Tape?) -> Tensor {
        if tape == nil && prompts == nil { return self(image) }
        precondition(prompts == nil || prompts!.count == attentionBlockCount,
                     "ImageEncoderViT: \(prompts!.count) prompt sets for \(attentionBlockCount) blocks")
        var x = add(patchEmbed(image, tape: tape), posEmbed, tape: tape)
        for (i, block) in blocks.enumerated() { x = block(x, prompts: prompts?[i], tape: tape) }
        let n0 = neck0(x, tape: tape)
        let n1 = neck1(n0, tape: tape)
        return neck3(neck2(n1, tape: tape), tape: tape)
    }
}

extension ImageEncoderViT {
    /// Seeded random weights under the checkpoint's names (without "image_encoder.") for
    /// `config`: for measuring speed and memory, and for tests, where the values do not matter.
    public static func randomWeights(_ c: ViTConfig, seed: UInt64) -> [String: Tensor] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        func tensor(_ shape: [Int], scale: Float, offset: Float = 0) -> Tensor {
            Tensor(shape: shape, values: (0..<Tensor.elementCount(shape)).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale + offset
            })
        }
        var w: [String: Tensor] = [:]
        func linear(_ p: String, _ i: Int, _ o: Int) {
            w["\(p).weight"] = tensor([o, i], scale: 1 / Float(i).squareRoot())
            w["\(p).bias"] = tensor([o], scale: 0.1)
        }
        func norm(_ p: String, _ d: Int) {
            w["\(p).weight"] = tensor([d], scale: 0.2, offset: 1)
            w["\(p).bias"] = tensor([d], scale: 0.1)
        }
        let (d, p, grid) = (c.embedDim, c.patchSize, c.imageSize / c.patchSize)
        w["patch_embed.proj.weight"] = tensor([d, 3, p, p], scale: 1 / Float(3 * p * p).squareRoot())
        w["patch_embed.proj.bias"] = tensor([d], scale: 0.1)
        w["pos_embed"] = tensor([1, grid, grid, d], scale: 0.1)
        for i in 0..<c.depth {
            let b = "blocks.\(i)", size = c.globalAttnIndexes.contains(i) ? grid : c.windowSize
            norm("\(b).norm1", d); norm("\(b).norm2", d)
            linear("\(b).attn.qkv", d, 3 * d); linear("\(b).attn.proj", d, d)
            w["\(b).attn.rel_pos_h"] = tensor([2 * size - 1, d / c.numHeads], scale: 0.3)
            w["\(b).attn.rel_pos_w"] = tensor([2 * size - 1, d / c.numHeads], scale: 0.3)
            linear("\(b).mlp.lin1", d, d * c.mlpRatio); linear("\(b).mlp.lin2", d * c.mlpRatio, d)
        }
        w["neck.0.weight"] = tensor([c.outChans, d, 1, 1], scale: 1 / Float(d).squareRoot())
        norm("neck.1", c.outChans)
        w["neck.2.weight"] = tensor([c.outChans, c.outChans, 3, 3], scale: 1 / Float(9 * c.outChans).squareRoot())
        norm("neck.3", c.outChans)
        return w
    }
}
