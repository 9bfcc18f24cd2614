#include "vit.h"

#include "attention.h"
#include "errors.h"
#include "products.h"

namespace mae {

namespace {

// x [N, T, D] -> the heads' outputs before the projection, [N, T, D]
torch::Tensor attention_heads(const Block& b, const torch::Tensor& x) {
    const int64_t n = x.size(0), t = x.size(1), dim = x.size(2), heads = b.num_heads;
    auto qkv = linear(x, b.qkv_w, b.qkv_b).reshape({n, t, 3, heads, dim / heads}).permute({2, 0, 3, 1, 4});
    auto q = qkv[0], k = qkv[1], v = qkv[2];  // [N, heads, T, head_dim]
    auto out = attention(q, k, v);            // [N, heads, T, head_dim]
    return out.transpose(1, 2).reshape({n, t, dim});
}

// residual + branch(x)·factors, the branch a linear layer; without stochastic depth the addition is made in place on
// the product's output (linear_add, where nothing is recorded for backward).
torch::Tensor add_branch(const torch::Tensor& residual, const torch::Tensor& x, const torch::Tensor& w,
                         const torch::Tensor& bias, const torch::Tensor& factors) {
    if (factors.defined()) return residual + linear(x, w, bias) * factors;
    return linear_add(x, w, bias, residual);
}

// A per-sample Bernoulli(keep) mask scaled by 1/keep.
torch::Tensor drop_path_factors(int64_t n, double p, torch::ScalarType dtype, const torch::Device& device,
                                at::Generator& gen) {
    const double keep = 1.0 - p;
    auto mask = torch::empty({n, 1, 1}, torch::TensorOptions().dtype(dtype));
    mask.bernoulli_(keep, gen);
    return mask.to(device).div_(keep);
}

}  // namespace

const Param& find_param(const std::vector<Param>& params, const std::string& name) {
    for (const auto& p : params)
        if (p.name == name) return p;
    throw InvalidArgument("no parameter named '" + name + "'");
}

void add_block_params(std::vector<Param>& params, const std::string& prefix, int64_t dim, double mlp_ratio,
                      const torch::TensorOptions& opts) {
    const auto hidden = static_cast<int64_t>(static_cast<double>(dim) * mlp_ratio);  // int(dim * mlp_ratio)
    auto add = [&](const char* suffix, std::vector<int64_t> shape) {
        params.push_back({prefix + suffix, torch::empty(shape, opts), true});
    };
    add("norm1.weight", {dim});
    add("norm1.bias", {dim});
    add("attn.qkv.weight", {3 * dim, dim});
    add("attn.qkv.bias", {3 * dim});
    add("attn.proj.weight", {dim, dim});
    add("attn.proj.bias", {dim});
    add("norm2.weight", {dim});
    add("norm2.bias", {dim});
    add("mlp.fc1.weight", {hidden, dim});
    add("mlp.fc1.bias", {hidden});
    add("mlp.fc2.weight", {dim, hidden});
    add("mlp.fc2.bias", {dim});
}

Block bind_block(const std::vector<Param>& params, const std::string& prefix, int64_t num_heads, double eps) {
    auto g = [&](const char* suffix) { return find_param(params, prefix + suffix).value; };
    return Block{g("norm1.weight"),
                 g("norm1.bias"),
                 g("attn.qkv.weight"),
                 g("attn.qkv.bias"),
                 g("attn.proj.weight"),
                 g("attn.proj.bias"),
                 g("norm2.weight"),
                 g("norm2.bias"),
                 g("mlp.fc1.weight"),
                 g("mlp.fc1.bias"),
                 g("mlp.fc2.weight"),
                 g("mlp.fc2.bias"),
                 num_heads,
                 eps};
}

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double eps) {
    return torch::layer_norm(x, {x.size(-1)}, w, b, eps);
}

DropPath DropPath::narrow(int64_t first, int64_t rows) const {
    return {attn.defined() ? attn.narrow(0, first, rows) : attn, mlp.defined() ? mlp.narrow(0, first, rows) : mlp};
}

DropPath draw_drop_path(const Block& b, int64_t n, torch::ScalarType dtype, const torch::Device& device,
                        at::Generator& gen) {
    if (b.drop_path <= 0.0) return {};
    auto attn = drop_path_factors(n, b.drop_path, dtype, device, gen);
    return {attn, drop_path_factors(n, b.drop_path, dtype, device, gen)};
}

torch::Tensor block_forward(const Block& b, const torch::Tensor& x, const DropPath* drop) {
    const DropPath none;
    if (drop == nullptr) drop = &none;
    // The products' inputs in the weights' dtype (a no-op unless they are an inference encoder's bfloat16 copies);
    // a residual addition of another dtype is not made in place (linear_add) and promotes back to x's.
    const auto compute = b.qkv_w.scalar_type();
    auto heads = attention_heads(b, layer_norm(x, b.norm1_w, b.norm1_b, b.eps).to(compute));
    auto y = add_branch(x, heads, b.proj_w, b.proj_b, drop->attn);
    auto h = linear_gelu(layer_norm(y, b.norm2_w, b.norm2_b, b.eps).to(compute), b.fc1_w, b.fc1_b);  // erf GELU
    return add_branch(y, h, b.fc2_w, b.fc2_b, drop->mlp);
}

}  // namespace mae
