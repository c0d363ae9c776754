import Tensors

/// The PyTorch building blocks the models share, each reading its own
/// parameters (checkpoint names) from a `Scope`. Images are channels-last
/// (N, H, W, C); token sequences are (N, L, C). See Tensors/Conv2d.swift.

/// nn.Linear.
public struct Linear {
    public let weight: Tensor, bias: Tensor?
    public init(_ s: Scope, _ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        weight = s.take("weight", [outFeatures, inFeatures])
        self.bias = bias ? s.take("bias", [outFeatures]) : nil
    }
    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
    /// Recorded on `tape` when the input is tracked (training); plain inference otherwise.
    public func callAsFunction(_ x: Tensor, tape: Tape?) -> Tensor { linear(x, weight: weight, bias: bias, tape: tape) }
}

/// nn.LayerNorm over the last axis; also SAM's LayerNorm2d on channels-last images.
public struct LayerNorm {
    public let weight: Tensor, bias: Tensor, eps: Float
    public init(_ s: Scope, _ dim: Int, eps: Float) {
        weight = s.take("weight", [dim]); bias = s.take("bias", [dim]); self.eps = eps
    }
    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
    public func callAsFunction(_ x: Tensor, tape: Tape?) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps, tape: tape) }
}

/// nn.Conv2d on channels-last input, weight packed at load time.
public struct Conv2d {
    public let weight: Tensor, bias: Tensor?
    public let geometry: ConvGeometry, groups: Int, depthwise: Bool

    public init(_ s: Scope, _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = true) {
        let w = s.take("weight", [cout, cin / groups, kernel, kernel])
        let b = bias ? s.take("bias", [cout]) : nil
        self.init(weight: w, bias: b, geometry: ConvGeometry(kernel: kernel, stride: stride, padding: padding), groups: groups)
    }

    /// From a PyTorch-layout weight (out, in/groups, k, k).
    public init(weight: Tensor, bias: Tensor?, geometry: ConvGeometry, groups: Int) {
        depthwise = groups > 1 && groups == weight.shape[0] && weight.shape[1] == 1
        self.weight = depthwise ? packDepthwiseWeight(weight) : packConvWeight(weight)
        self.bias = bias
        self.geometry = geometry
        self.groups = groups
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        depthwise ? depthwiseConv2d(x, weight: weight, bias: bias, geometry: geometry)
                  : conv2d(x, weight: weight, bias: bias, geometry: geometry, groups: groups)
    }
}

/// TinyViT's Conv2d_BN (conv without bias, then BatchNorm2d), folded into one conv at load time.
public struct Conv2dBN {
    public let conv: Conv2d
    public init(_ s: Scope, _ cin: Int, _ cout: Int, kernel: Int = 1, stride: Int = 1, padding: Int = 0, groups: Int = 1) {
        let w = s["c"].take("weight", [cout, cin / groups, kernel, kernel])
        let bn = s["bn"]
        let folded = foldBatchNorm(weight: w, bias: nil, gamma: bn.take("weight", [cout]), beta: bn.take("bias", [cout]),
                                   mean: bn.take("running_mean", [cout]), variance: bn.take("running_var", [cout]))
        bn.skip("num_batches_tracked")
        conv = Conv2d(weight: folded.weight, bias: folded.bias,
                      geometry: ConvGeometry(kernel: kernel, stride: stride, padding: padding), groups: groups)
    }
    public func callAsFunction(_ x: Tensor) -> Tensor { conv(x) }
}

/// nn.ConvTranspose2d(kernel_size=2, stride=2).
public struct ConvTranspose2x2 {
    public let weight: Tensor, bias: Tensor
    public init(_ s: Scope, _ cin: Int, _ cout: Int) {
        weight = packTransposedConvWeight(s.take("weight", [cin, cout, 2, 2]))
        bias = s.take("bias", [cout])
    }
    public func callAsFunction(_ x: Tensor) -> Tensor { transposedConv2x2(x, weight: weight, bias: bias) }
    public func callAsFunction(_ x: Tensor, tape: Tape?) -> Tensor { transposedConv2x2(x, weight: weight, bias: bias, tape: tape) }
}
