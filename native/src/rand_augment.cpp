#include "rand_augment.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "errors.h"
#include "mae.h"
#include "tensors.h"

// Every operation repeats PIL 9's arithmetic (ImageOps, ImageEnhance, Image.transform, ImagingBlend, ImagingFilter3x3)
// step by step — the same integer divisions, float32 blends and truncations — so that the U8 results equal PIL's;
// RandAugmentTest checks them against images PIL made.
namespace mae {
namespace {

using Lut = std::array<uint8_t, 256>;
using Histogram = std::array<int64_t, 256>;

// One image [C, H, W] of a batch, planar.
struct Image {
    uint8_t* p;
    int64_t c, h, w;
    int64_t plane() const { return h * w; }
    uint8_t* band(int64_t k) const { return p + k * plane(); }
};

void apply_lut(const Image& im, int64_t band, const Lut& lut) {
    uint8_t* b = im.band(band);
    for (int64_t i = 0; i < im.plane(); i++) b[i] = lut[b[i]];
}

void apply_lut(const Image& im, const Lut& lut) {
    for (int64_t k = 0; k < im.c; k++) apply_lut(im, k, lut);
}

Histogram histogram(const uint8_t* values, int64_t n) {
    Histogram h{};
    for (int64_t i = 0; i < n; i++) h[values[i]]++;
    return h;
}

// ImageOps.autocontrast(cutoff=0): each band stretched from its lowest to its highest value.
void autocontrast(const Image& im) {
    for (int64_t k = 0; k < im.c; k++) {
        Histogram h = histogram(im.band(k), im.plane());
        int lo = 0, hi = 255;
        while (lo < 255 && h[lo] == 0) lo++;
        while (hi > 0 && h[hi] == 0) hi--;
        if (hi <= lo) continue;
        double scale = 255.0 / (hi - lo), offset = -lo * scale;
        Lut lut;
        for (int ix = 0; ix < 256; ix++) {
            auto v = static_cast<int64_t>(ix * scale + offset);  // Python's int(): towards zero
            lut[ix] = static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
        }
        apply_lut(im, k, lut);
    }
}

// ImageOps.equalize: each band's cumulative histogram, in steps of (pixels − the last bin's) / 255.
void equalize(const Image& im) {
    for (int64_t k = 0; k < im.c; k++) {
        Histogram h = histogram(im.band(k), im.plane());
        int64_t used = 0, total = 0, last = 0;
        for (int64_t count : h)
            if (count) used++, total += count, last = count;
        if (used <= 1) continue;
        int64_t step = (total - last) / 255;
        if (step == 0) continue;
        Lut lut;
        int64_t n = step / 2;
        for (int i = 0; i < 256; i++) {
            lut[i] = static_cast<uint8_t>(std::min<int64_t>(255, n / step));  // Image.point clips to 8 bits
            n += h[i];
        }
        apply_lut(im, k, lut);
    }
}

Lut lut_of(int (*f)(int, double, double), double a, double b) {
    Lut lut;
    for (int i = 0; i < 256; i++) lut[i] = static_cast<uint8_t>(f(i, a, b));
    return lut;
}

int invert(int i, double, double) { return 255 - i; }

// ImageOps.posterize: keep the top `bits` bits (none at 0 or fewer).
int posterize(int i, double bits, double) {
    int keep = static_cast<int>(bits);
    return keep <= 0 ? 0 : i & ~((1 << (8 - keep)) - 1);
}

int solarize(int i, double threshold, double) { return i < threshold ? i : 255 - i; }

int solarize_add(int i, double add, double threshold) {
    return i < threshold ? std::min(255, i + static_cast<int>(add)) : i;
}

// ImagingBlend: degenerate + alpha · (image − degenerate) in float32, truncated; clipped when alpha leaves [0, 1].
uint8_t blend(uint8_t degenerate, uint8_t pixel, float alpha) {
    float v = static_cast<float>(static_cast<int>(degenerate)) +
              alpha * static_cast<float>(static_cast<int>(pixel) - static_cast<int>(degenerate));
    if (alpha >= 0 && alpha <= 1.0f) return static_cast<uint8_t>(v);
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : static_cast<uint8_t>(v);
}

void blend(const Image& im, const std::vector<uint8_t>& degenerate, float alpha) {
    const int64_t n = im.c * im.plane();
    for (int64_t i = 0; i < n; i++) im.p[i] = blend(degenerate[i], im.p[i], alpha);
}

// convert("L"): ITU-R 601-2 luma in PIL's 16-bit fixed point.
std::vector<uint8_t> luma(const Image& im) {
    if (im.c == 1) return std::vector<uint8_t>(im.p, im.p + im.plane());
    std::vector<uint8_t> l(im.plane());
    const uint8_t *r = im.band(0), *g = im.band(1), *b = im.band(2);
    for (int64_t i = 0; i < im.plane(); i++)
        l[i] = static_cast<uint8_t>((r[i] * 19595 + g[i] * 38470 + b[i] * 7471 + 0x8000) >> 16);
    return l;
}

// ImageEnhance.Color: blended with its own grey version (a grey image is its own, so unchanged).
void color(const Image& im, float factor) {
    std::vector<uint8_t> l = luma(im), degenerate(im.c * im.plane());
    for (int64_t k = 0; k < im.c; k++) std::copy(l.begin(), l.end(), degenerate.begin() + k * im.plane());
    blend(im, degenerate, factor);
}

// ImageEnhance.Contrast: blended with a flat image of the mean grey level (ImageStat's mean, rounded half up).
void contrast(const Image& im, float factor) {
    std::vector<uint8_t> l = luma(im);
    Histogram h = histogram(l.data(), im.plane());
    double sum = 0.0;
    for (int j = 0; j < 256; j++) sum += static_cast<double>(j * h[j]);
    auto mean = static_cast<uint8_t>(static_cast<int64_t>(sum / static_cast<double>(im.plane()) + 0.5));
    blend(im, std::vector<uint8_t>(im.c * im.plane(), mean), factor);
}

// ImageEnhance.Brightness: blended with black.
void brightness(const Image& im, float factor) { blend(im, std::vector<uint8_t>(im.c * im.plane(), 0), factor); }

// ImageEnhance.Sharpness: blended with ImageFilter.SMOOTH (3 × 3, 1 1 1 / 1 5 1 / 1 1 1 over 13, borders copied).
void sharpness(const Image& im, float factor) {
    const float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f;
    std::vector<uint8_t> smooth(im.p, im.p + im.c * im.plane());
    auto row3 = [](const uint8_t* r, int64_t x, float a, float b, float c) {
        return static_cast<float>(r[x - 1]) * a + static_cast<float>(r[x]) * b + static_cast<float>(r[x + 1]) * c;
    };
    for (int64_t k = 0; k < im.c; k++) {
        const uint8_t* in = im.band(k);
        uint8_t* out = smooth.data() + k * im.plane();
        for (int64_t y = 1; y < im.h - 1; y++)
            for (int64_t x = 1; x < im.w - 1; x++) {
                float ss = 0.5f;  // PIL's rounding offset
                ss += row3(in + (y + 1) * im.w, x, k1, k1, k1);
                ss += row3(in + y * im.w, x, k1, k5, k1);
                ss += row3(in + (y - 1) * im.w, x, k1, k1, k1);
                ss = ss < 0.0f ? 0.0f : ss > 255.0f ? 255.0f : ss;
                out[y * im.w + x] = static_cast<uint8_t>(ss);
            }
    }
    blend(im, smooth, factor);
}

// PIL's bicubic kernel (a = −1) through four samples at offset d in [0, 1).
double cubic(double v1, double v2, double v3, double v4, double d) {
    double p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4;
    return p1 + d * (p2 + d * (p3 + d * p4));
}

// Geometry.c's bicubic_filter8 at input point (xin, yin) of one band; false outside the image.
bool bicubic(const uint8_t* band, int64_t h, int64_t w, double xin, double yin, uint8_t* out) {
    if (!(xin >= 0.0 && xin < w && yin >= 0.0 && yin < h)) return false;  // PIL's bounds test, NaN outside too
    xin -= 0.5;
    yin -= 0.5;
    auto x = static_cast<int64_t>(std::floor(xin)), y = static_cast<int64_t>(std::floor(yin));
    double dx = xin - x, dy = yin - y;
    x--;
    y--;
    auto xclip = [w](int64_t v) { return v < 0 ? 0 : v < w ? v : w - 1; };
    const int64_t x0 = xclip(x), x1 = xclip(x + 1), x2 = xclip(x + 2), x3 = xclip(x + 3);
    auto row = [&](int64_t r) {
        const uint8_t* in = band + r * w;
        return cubic(in[x0], in[x1], in[x2], in[x3], dx);
    };
    // rows above the image repeat the first; rows below it repeat the one before (PIL's v2 = v1, ...)
    double v1 = row(y < 0 ? 0 : y < h ? y : h - 1);
    double v2 = y + 1 >= 0 && y + 1 < h ? row(y + 1) : v1;
    double v3 = y + 2 >= 0 && y + 2 < h ? row(y + 2) : v2;
    double v4 = y + 3 >= 0 && y + 3 < h ? row(y + 3) : v3;
    double v = cubic(v1, v2, v3, v4, dy);
    *out = v <= 0.0 ? 0 : v >= 255.0 ? 255 : static_cast<uint8_t>(v);
    return true;
}

// Image.transform(size, AFFINE, a, BICUBIC, fillcolor): output pixel (x, y) samples the input at
// (a0 (x + ½) + a1 (y + ½) + a2, a3 (x + ½) + a4 (y + ½) + a5); points outside the input take the fill colour.
void affine(const Image& im, const double* a, const uint8_t* fill) {
    std::vector<uint8_t> src(im.p, im.p + im.c * im.plane());
    for (int64_t y = 0; y < im.h; y++)
        for (int64_t x = 0; x < im.w; x++) {
            double xin = x + 0.5, yin = y + 0.5;
            double xx = a[0] * xin + a[1] * yin + a[2], yy = a[3] * xin + a[4] * yin + a[5];
            for (int64_t k = 0; k < im.c; k++) {
                uint8_t* out = im.band(k) + y * im.w + x;
                if (!bicubic(src.data() + k * im.plane(), im.h, im.w, xx, yy, out)) *out = fill[k];
            }
        }
}

void apply(const Image& im, const double* step, const uint8_t* fill) {
    const double* a = step + 1;
    auto factor = static_cast<float>(a[0]);  // ImagingBlend takes a float
    switch (static_cast<int>(step[0])) {
        case MAE_RA_NONE:
            return;
        case MAE_RA_AUTOCONTRAST:
            return autocontrast(im);
        case MAE_RA_EQUALIZE:
            return equalize(im);
        case MAE_RA_INVERT:
            return apply_lut(im, lut_of(invert, 0, 0));
        case MAE_RA_POSTERIZE:
            return a[0] >= 8 ? void() : apply_lut(im, lut_of(posterize, a[0], 0));
        case MAE_RA_SOLARIZE:
            return apply_lut(im, lut_of(solarize, a[0], 0));
        case MAE_RA_SOLARIZE_ADD:
            return apply_lut(im, lut_of(solarize_add, a[0], a[1]));
        case MAE_RA_COLOR:
            return color(im, factor);
        case MAE_RA_CONTRAST:
            return contrast(im, factor);
        case MAE_RA_BRIGHTNESS:
            return brightness(im, factor);
        case MAE_RA_SHARPNESS:
            return sharpness(im, factor);
        case MAE_RA_AFFINE:
            return affine(im, a, fill);
    }
}

}  // namespace

torch::Tensor rand_augment(const torch::Tensor& images, const torch::Tensor& plan, const torch::Tensor& mean,
                           const torch::Tensor& std) {
    require(images.dim() == 4 && images.scalar_type() == torch::kFloat32,
            "images must be F32 [N, C, H, W], got " + shape_string(images.sizes()));
    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
    require(c == 1 || c == 3, "RandAugment needs grey (1) or RGB (3) images, got " + std::to_string(c) + " channels");
    require(
        plan.dim() == 2 && plan.size(0) == n && plan.size(1) % RA_COLUMNS == 0 && plan.scalar_type() == torch::kFloat64,
        "plan must be F64 [N, K · " + std::to_string(RA_COLUMNS) + "] with N = " + std::to_string(n) + ", got " +
            shape_string(plan.sizes()));
    require(mean.dim() == 1 && mean.size(0) == c && std.dim() == 1 && std.size(0) == c,
            "mean and std need " + std::to_string(c) + " values each");
    auto steps = plan.to(torch::kCPU).contiguous();
    // bounded arguments keep every cast and blend below defined (a factor of 1e6 already saturates every pixel)
    require((steps.abs() < 1e6).all().item<bool>(), "the plan's values must be finite and below 1e6 in magnitude");
    const int64_t k = steps.size(1) / RA_COLUMNS;
    if (k > 0 && n > 0) {
        auto codes = steps.view({n, k, RA_COLUMNS}).select(2, 0);
        require(((codes >= MAE_RA_NONE) & (codes <= MAE_RA_AFFINE) & (codes == codes.floor())).all().item<bool>(),
                "plan codes must be whole numbers in [0, " + std::to_string(MAE_RA_AFFINE) + "]");
    }
    auto m64 = mean.to(torch::kCPU, torch::kFloat64).contiguous(),
         s64 = std.to(torch::kCPU, torch::kFloat64).contiguous();
    require((s64 > 0).all().item<bool>() && torch::isfinite(m64).all().item<bool>(),
            "std must be positive, mean finite");
    std::vector<double> m(m64.data_ptr<double>(), m64.data_ptr<double>() + c),
        s(s64.data_ptr<double>(), s64.data_ptr<double>() + c);
    std::vector<uint8_t> fill(c);
    for (int64_t b = 0; b < c; b++) fill[b] = static_cast<uint8_t>(std::clamp(std::nearbyint(255 * m[b]), 0.0, 255.0));

    auto in = images.to(torch::kCPU).contiguous();
    require(torch::isfinite(in).all().item<bool>(), "images must be finite");
    auto out = torch::empty_like(in);
    const float* src = in.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    const double* rows = steps.data_ptr<double>();
    const int64_t plane = h * w, size = c * plane;
    // one image at a time, from floats to pixels and back in one pass: rounding half to even, as Python's round() in
    // timm's img_mean, and normalising as mae_gather_normalize does
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
        std::vector<uint8_t> pixels(size);
        for (int64_t i = begin; i < end; i++) {
            const float* x = src + i * size;
            for (int64_t j = 0; j < size; j++)
                pixels[j] = static_cast<uint8_t>(
                    std::clamp(std::nearbyint((x[j] * s[j / plane] + m[j / plane]) * 255), 0.0, 255.0));
            Image im{pixels.data(), c, h, w};
            for (int64_t t = 0; t < k; t++) apply(im, rows + (i * k + t) * RA_COLUMNS, fill.data());
            float* y = dst + i * size;
            for (int64_t j = 0; j < size; j++)
                y[j] = (static_cast<float>(pixels[j]) / 255.0f - static_cast<float>(m[j / plane])) /
                       static_cast<float>(s[j / plane]);
        }
    });
    return out.to(images.device());
}

}  // namespace mae
