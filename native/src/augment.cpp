#include "augment.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "errors.h"
#include "tensors.h"

namespace mae {

torch::Tensor resized_crops(const torch::Tensor& images, const torch::Tensor& boxes, int64_t size) {
    require(images.dim() == 4, "images must be [N, C, H, W], got " + shape_string(images.sizes()));
    require(images.scalar_type() == torch::kFloat32, "images must be F32");
    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
    require(boxes.dim() == 2 && boxes.size(0) == n && boxes.size(1) == 5,
            "boxes must be [N, 5] = [" + std::to_string(n) + ", 5], got " + shape_string(boxes.sizes()));
    require(size > 0, "size must be positive, got " + std::to_string(size));
    auto b = boxes.to(torch::kFloat64);
    auto top = b.select(1, 0), left = b.select(1, 1), bh = b.select(1, 2), bw = b.select(1, 3), flip = b.select(1, 4);
    require(torch::isfinite(b).all().item<bool>(), "boxes must be finite");
    require((bh > 0).all().item<bool>() && (bw > 0).all().item<bool>(), "box heights and widths must be positive");
    require((top >= 0).all().item<bool>() && (left >= 0).all().item<bool>() && (top + bh <= h).all().item<bool>() &&
                (left + bw <= w).all().item<bool>(),
            "boxes must lie inside the " + std::to_string(h) + " × " + std::to_string(w) + " images");
    require(((flip == 0) | (flip == 1)).all().item<bool>(), "flip must be 0 or 1");

    // Output coordinate u in [-1, 1] (align_corners = false) samples source x = (bw/W)·u + (2·left + bw)/W − 1;
    // a flip negates u.
    auto sx = bw / w * (1 - 2 * flip), tx = (2 * left + bw) / w - 1;
    auto sy = bh / h, ty = (2 * top + bh) / h - 1;
    auto zero = torch::zeros_like(sx);
    auto theta = torch::stack({torch::stack({sx, zero, tx}, 1), torch::stack({zero, sy, ty}, 1)}, 1);  // [N, 2, 3]
    auto grid = torch::affine_grid_generator(theta, {n, c, size, size}, /*align_corners=*/false);      // [N, S, S, 2]
    // Clamp samples to the box's outer pixel centres: the crop is resized as an image of its own, whose
    // border repeats, as crop-then-resize does.
    auto centre = [](const torch::Tensor& p, int64_t extent) { return (2 * p + 1) / extent - 1; };
    auto lo = torch::stack({centre(left, w), centre(top, h)}, 1).view({n, 1, 1, 2});
    auto hi = torch::stack({centre(left + bw - 1, w), centre(top + bh - 1, h)}, 1).view({n, 1, 1, 2});
    grid = torch::max(torch::min(grid, hi), lo).to(images.scalar_type());
    return torch::grid_sampler(images, grid, /*bilinear*/ 0, /*border*/ 1, /*align_corners=*/false);
}

torch::Tensor erase_boxes(const torch::Tensor& images, const torch::Tensor& boxes, uint64_t seed) {
    require(images.dim() == 4, "images must be [N, C, H, W], got " + shape_string(images.sizes()));
    require(images.scalar_type() == torch::kFloat32, "images must be F32");
    const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
    require(boxes.dim() == 2 && boxes.size(0) == n && boxes.size(1) == 4,
            "boxes must be [N, 4] = [" + std::to_string(n) + ", 4], got " + shape_string(boxes.sizes()));
    auto b = boxes.to(torch::kFloat64);
    require(torch::isfinite(b).all().item<bool>() && (b == b.floor()).all().item<bool>(),
            "boxes must hold whole pixel counts");
    require((b >= 0).all().item<bool>(), "boxes must not be negative");
    auto top = b.select(1, 0), left = b.select(1, 1), bh = b.select(1, 2), bw = b.select(1, 3);
    require((top + bh <= h).all().item<bool>() && (left + bw <= w).all().item<bool>(),
            "boxes must lie inside the " + std::to_string(h) + " × " + std::to_string(w) + " images");
    auto per_image = [n](const torch::Tensor& v) { return v.view({n, 1, 1, 1}); };
    auto rows = torch::arange(h, b.options()).view({1, 1, h, 1}),
         cols = torch::arange(w, b.options()).view({1, 1, 1, w});
    auto inside = (rows >= per_image(top)) & (rows < per_image(top + bh)) & (cols >= per_image(left)) &
                  (cols < per_image(left + bw));  // [N, 1, H, W]
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    auto noise = torch::randn(images.sizes(), gen, images.options());  // drawn for every pixel: one stream per seed
    return torch::where(inside, noise, images);
}

torch::Tensor mixup(const torch::Tensor& images, double lam) {
    require(images.dim() == 4 && images.scalar_type() == torch::kFloat32,
            "images must be F32 [N, C, H, W], got " + shape_string(images.sizes()));
    require(std::isfinite(lam) && lam >= 0 && lam <= 1, "lam must be in [0, 1], got " + std::to_string(lam));
    return images * lam + images.flip(0) * (1 - lam);
}

torch::Tensor cutmix(const torch::Tensor& images, int64_t top, int64_t left, int64_t height, int64_t width) {
    require(images.dim() == 4 && images.scalar_type() == torch::kFloat32,
            "images must be F32 [N, C, H, W], got " + shape_string(images.sizes()));
    const int64_t h = images.size(2), w = images.size(3);
    require(top >= 0 && left >= 0 && height >= 0 && width >= 0 && top + height <= h && left + width <= w,
            "the box (top " + std::to_string(top) + ", left " + std::to_string(left) + ", " + std::to_string(height) +
                " × " + std::to_string(width) + ") must lie inside the " + std::to_string(h) + " × " +
                std::to_string(w) + " images");
    auto out = images.clone();
    auto box = [&](const torch::Tensor& t) { return t.narrow(2, top, height).narrow(3, left, width); };
    box(out).copy_(box(images.flip(0)));
    return out;
}

torch::Tensor gather_normalize(const torch::Tensor& images, const torch::Tensor& indices, const torch::Tensor& mean,
                               const torch::Tensor& std) {
    require(images.dim() == 4 && images.scalar_type() == torch::kUInt8,
            "images must be U8 [M, C, H, W], got " + shape_string(images.sizes()));
    require(indices.dim() == 1 && indices.scalar_type() == torch::kInt64, "indices must be I64 [N]");
    const int64_t m = images.size(0), c = images.size(1);
    require((indices >= 0).all().item<bool>() && (indices < m).all().item<bool>(),
            "indices must be in [0, " + std::to_string(m) + ")");
    require(mean.dim() == 1 && mean.size(0) == c && std.dim() == 1 && std.size(0) == c,
            "mean and std need " + std::to_string(c) + " values each");
    require((std.to(torch::kFloat64) > 0).all().item<bool>(), "std must be positive");
    auto batch = images.index_select(0, indices).to(torch::kFloat32).div_(255.0);  // copies only the chosen images
    auto shape = std::vector<int64_t>{1, c, 1, 1};
    return batch.sub_(mean.to(torch::kFloat32).view(shape)).div_(std.to(torch::kFloat32).view(shape));
}

}  // namespace mae
