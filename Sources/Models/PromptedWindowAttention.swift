// Deep visual prompts for TinyViT's windowed attention (segtune's addition; no
// upstream module). VPT-deep (Jia et al. 2022, "Visual Prompt Tuning", ECCV) inserts
// N learnable tokens before every transformer layer and discards their outputs;
// PTSAM (Piater et al. 2025) carries this to SAM's encoder with the same tokens in
// every window. Adapted to TinyViT:
// - the block's prompts (N, C) go through the attention's own LayerNorm and qkv
//   projection (as tokens of the sequence would) and their keys and values are
//   appended to every window's, the same prompts in every window;
// - only image tokens query: the prompts' outputs would be replaced by the next
//   block's fresh prompts anyway, so the block's output shape is unchanged;
// - the prompt rows and columns get zero attention bias (they have no position).
// The attention runs on the window's tokens and prompts together (the existing fused
// attention and its backward, whose finite-difference tests cover this), and the
// prompts' query rows are dropped afterwards: N extra query rows of n + N (8 of 57 in
// a 7-window, 8 of 204 in a 14-window) cost less than a second kernel would.
import Tensors

extension WindowAttention {
    /// x (windows, n, C) → (windows, n, C); `prompts` (N, C) appended to each window's
    /// keys and values. Recorded on `tape` when x or the prompts are tracked.
    func callAsFunction(_ x: Tensor, prompts: Tensor?, tape: Tape?) -> Tensor {
        let (windows, n) = (x.shape[0], x.shape[1])
        var qkvOut = qkv(norm(x, tape: tape), tape: tape)
        var scoresBias = bias
        if let prompts {
            precondition(prompts.rank == 2 && prompts.shape[1] == x.shape[2],
                         "WindowAttention: prompts \(prompts.shape) for width \(x.shape[2])")
            let promptQKV = qkv(norm(prompts, tape: tape), tape: tape)
            qkvOut = concatenate([qkvOut, repeated(promptQKV, count: windows, tape: tape)], axis: 1, tape: tape)
            scoresBias = biasWithPromptColumns(prompts.shape[0])
        }
        var out = fusedAttention(qkv: qkvOut, heads: heads, keyDim: keyDim, valueDim: keyDim, bias: scoresBias, tape: tape)
        if prompts != nil { out = slice(out, axis: 1, 0..<n, tape: tape) }
        return proj(out, tape: tape)
    }

    /// The (heads, n + N, n + N) bias: the window's learned biases, zero in the prompts' rows and columns.
    func biasWithPromptColumns(_ promptCount: Int) -> Tensor {
        let n = bias.shape[1], m = n + promptCount
        let out = Tensor(zeros: [heads, m, m])
        for h in 0..<heads {
            for i in 0..<n { (out.ptr + (h * m + i) * m).update(from: bias.ptr + (h * n + i) * n, count: n) }
        }
        return out
    }
}
