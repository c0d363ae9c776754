/// Convolutions and image-layout ops, taped (see TapedOps.swift). Channels-last,
/// packed weights, as the engine's forwards. None keeps an activation: the input
/// gradient of a convolution needs only the weight.

/// Transposed convolution 2×2 stride 2: x (N, H, W, Cin) → (N, 2H, 2W, Cout).
public func transposedConv2x2(_ x: Tensor, weight: Tensor, bias: Tensor?, tape: Tape?) -> Tensor {
    let y = transposedConv2x2(x, weight: weight, bias: bias)
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in transposedConv2x2Backward(dy, weight: weight, into: tape.gradient(slot: xs)) }
    return y
}

/// Dense or grouped convolution (also a BatchNorm-folded one): x (N, H, W, Cin) → (N, Ho, Wo, Cout).
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry, groups: Int = 1, tape: Tape?) -> Tensor {
    let y = conv2d(x, weight: weight, bias: bias, geometry: geometry, groups: groups)
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in conv2dBackward(dy, weight: weight, into: tape.gradient(slot: xs), geometry: geometry, groups: groups) }
    return y
}

/// Depthwise convolution: x (N, H, W, C), packed weight (k, k, C) → (N, Ho, Wo, C).
public func depthwiseConv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry, tape: Tape?) -> Tensor {
    let y = depthwiseConv2d(x, weight: weight, bias: bias, geometry: geometry)
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in depthwiseConv2dBackward(dy, weight: weight, into: tape.gradient(slot: xs), geometry: geometry) }
    return y
}

/// x (N, H, W, C) → windows (N · nH · nW, window², C), zero-padded.
public func windowPartition(_ x: Tensor, window: Int, tape: Tape?) -> Tensor {
    let y = windowPartition(x, window: window)
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in windowPartitionBackward(dy, window: window, into: tape.gradient(slot: xs)) }
    return y
}

/// windows (N · nH · nW, window², C) → (N, H, W, C), padding dropped.
public func windowUnpartition(_ windows: Tensor, window: Int, height: Int, width: Int, tape: Tape?) -> Tensor {
    let y = windowUnpartition(windows, window: window, height: height, width: width)
    guard let tape, let ws = tape.slot(of: windows) else { return y }
    tape.record(y) { tape, dy in windowUnpartitionBackward(dy, window: window, into: tape.gradient(slot: ws)) }
    return y
}

/// Bilinear resize of planes (P, H, W) → (P, outH, outW), PyTorch align_corners=False.
public func resizeBilinear(_ x: Tensor, height: Int, width: Int, tape: Tape?) -> Tensor {
    let y = resizeBilinear(x, height: height, width: width)
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in resizeBilinearBackward(dy, into: tape.gradient(slot: xs)) }
    return y
}
