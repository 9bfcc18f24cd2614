#include "resize.h"

#include <cmath>
#include <vector>

#include "errors.h"
#include "tensors.h"

// Pillow 9's two-pass resampling with its fixed-point 8-bit arithmetic (Resample.c: precompute_coeffs,
// normalize_coeffs_8bpc, ImagingResampleHorizontal/Vertical_8bpc, ImagingResampleInner), so that the pixels equal
// PIL's; ResizeBicubicPilTest checks them against images PIL made.
namespace mae {
namespace {

constexpr int PRECISION_BITS = 32 - 8 - 2;

// PIL's bicubic filter, a = −0.5, support 2.
double bicubic_filter(double x) {
    constexpr double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

// One output line's taps: the first source pixel, how many, and their fixed-point weights.
struct Taps {
    int64_t ksize = 0;
    std::vector<int> first, count;
    std::vector<int32_t> weights;  // [out, ksize]
};

// precompute_coeffs + normalize_coeffs_8bpc: source span [in0, in1) of in_size pixels onto out_size pixels; the
// filter widens by the scale when shrinking (PIL's antialiasing).
Taps taps(int64_t in_size, float in0, float in1, int64_t out_size) {
    double scale = static_cast<double>(in1 - in0) / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    Taps t;
    t.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
    t.first.resize(out_size);
    t.count.resize(out_size);
    t.weights.assign(out_size * t.ksize, 0);
    std::vector<double> k(t.ksize);
    for (int64_t xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        auto xmin = static_cast<int>(center - support + 0.5);  // C's (int): towards zero
        if (xmin < 0) xmin = 0;
        auto xmax = static_cast<int>(center + support + 0.5);
        if (xmax > in_size) xmax = static_cast<int>(in_size);
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            double w = bicubic_filter((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (int x = 0; x < xmax; x++) {
            double w = ww != 0.0 ? k[x] / ww : k[x];
            t.weights[xx * t.ksize + x] =
                static_cast<int32_t>(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
        }
        t.first[xx] = xmin;
        t.count[xx] = xmax;
    }
    return t;
}

uint8_t clip8(int32_t in) {
    if (in >= (1 << PRECISION_BITS << 8)) return 255;
    if (in <= 0) return 0;
    return static_cast<uint8_t>(in >> PRECISION_BITS);
}

// An interleaved U8 image [h, w, c]: the caller's pixels, or a pass's own.
struct Pixels {
    std::vector<uint8_t> owned;
    const uint8_t* borrowed;
    int64_t h, w, c;
    const uint8_t* data() const { return borrowed ? borrowed : owned.data(); }
};

// ImagingResampleHorizontal_8bpc: rows [offset, offset + rows) of in, each resampled along x. C > 0 fixes the
// channel count at compile time (1 and 3: grey and RGB), 0 reads it from in.
template <int C>
Pixels horizontal(const Pixels& in, int64_t offset, int64_t rows, const Taps& t) {
    const int64_t out_w = static_cast<int64_t>(t.first.size()), c = C > 0 ? C : in.c;
    Pixels out{std::vector<uint8_t>(rows * out_w * c), nullptr, rows, out_w, c};
    std::vector<int32_t> ss(c);
    for (int64_t yy = 0; yy < rows; yy++) {
        const uint8_t* row = in.data() + (yy + offset) * in.w * c;
        uint8_t* o = out.owned.data() + yy * out_w * c;
        for (int64_t xx = 0; xx < out_w; xx++) {
            const int32_t* k = &t.weights[xx * t.ksize];
            const uint8_t* p = row + t.first[xx] * c;
            for (int64_t ch = 0; ch < c; ch++) ss[ch] = 1 << (PRECISION_BITS - 1);
            for (int x = 0; x < t.count[xx]; x++, p += c)
                for (int64_t ch = 0; ch < c; ch++) ss[ch] += p[ch] * k[x];
            for (int64_t ch = 0; ch < c; ch++) o[xx * c + ch] = clip8(ss[ch]);
        }
    }
    return out;
}

Pixels horizontal(const Pixels& in, int64_t offset, int64_t rows, const Taps& t) {
    switch (in.c) {
        case 1:
            return horizontal<1>(in, offset, rows, t);
        case 3:
            return horizontal<3>(in, offset, rows, t);
        default:
            return horizontal<0>(in, offset, rows, t);
    }
}

// ImagingResampleVertical_8bpc, first source rows shifted by `shift` (the rows the horizontal pass skipped): each
// output row sums whole source rows (integer sums: the order does not change them).
Pixels vertical(const Pixels& in, int64_t shift, const Taps& t) {
    const int64_t out_h = static_cast<int64_t>(t.first.size()), n = in.w * in.c;
    Pixels out{std::vector<uint8_t>(out_h * n), nullptr, out_h, in.w, in.c};
    std::vector<int32_t> ss(n);
    for (int64_t yy = 0; yy < out_h; yy++) {
        std::fill(ss.begin(), ss.end(), 1 << (PRECISION_BITS - 1));
        const int32_t* k = &t.weights[yy * t.ksize];
        for (int y = 0; y < t.count[yy]; y++) {
            const uint8_t* row = in.data() + (t.first[yy] - shift + y) * n;
            const int32_t w = k[y];
            for (int64_t j = 0; j < n; j++) ss[j] += row[j] * w;
        }
        uint8_t* o = out.owned.data() + yy * n;
        for (int64_t j = 0; j < n; j++) o[j] = clip8(ss[j]);
    }
    return out;
}

}  // namespace

torch::Tensor resized_crop(const torch::Tensor& image, const torch::Tensor& crop, int64_t height, int64_t width,
                           bool flip) {
    require(image.dim() == 3 && image.scalar_type() == torch::kUInt8,
            "image must be U8 [H, W, C], got " + shape_string(image.sizes()));
    require(crop.dim() == 1 && crop.size(0) == 4,
            "crop must be [4] (top, left, height, width), got " + shape_string(crop.sizes()));
    require(height > 0 && width > 0 && height <= 65536 && width <= 65536,
            "the output size must be in [1, 65536], got " + std::to_string(height) + " × " + std::to_string(width));
    const int64_t h = image.size(0), w = image.size(1), c = image.size(2);
    require(h > 0 && w > 0 && c > 0, "image must not be empty, got " + shape_string(image.sizes()));
    auto b = crop.to(torch::kFloat64).contiguous();
    const double* bp = b.data_ptr<double>();
    for (int i = 0; i < 4; i++)
        require(std::isfinite(bp[i]) && bp[i] == std::floor(bp[i]), "crop must hold whole pixel counts");
    const auto top = static_cast<int64_t>(bp[0]), left = static_cast<int64_t>(bp[1]), ch = static_cast<int64_t>(bp[2]),
               cw = static_cast<int64_t>(bp[3]);
    require(top >= 0 && left >= 0 && ch > 0 && cw > 0 && top + ch <= h && left + cw <= w,
            "the crop (top " + std::to_string(top) + ", left " + std::to_string(left) + ", " + std::to_string(ch) +
                " × " + std::to_string(cw) + ") must be a non-empty region of the " + std::to_string(h) + " × " +
                std::to_string(w) + " image");
    // PIL's crop is a new image: the filter's taps stop at its edges, not the source's.
    auto src = image.narrow(0, top, ch).narrow(1, left, cw).contiguous();
    Pixels in{{}, src.data_ptr<uint8_t>(), ch, cw, c};
    Taps th = taps(cw, 0.0f, static_cast<float>(cw), width), tv = taps(ch, 0.0f, static_cast<float>(ch), height);
    // ImagingResampleInner: horizontal pass over the rows the vertical one reads, then the vertical pass.
    const bool need_horizontal = width != cw, need_vertical = height != ch;
    int64_t first_row = tv.first[0], last_row = tv.first[height - 1] + tv.count[height - 1];
    Pixels result{{}, in.borrowed, ch, cw, c};  // neither pass: PIL copies
    if (need_horizontal) result = horizontal(in, first_row, last_row - first_row, th);
    if (need_vertical) result = vertical(result, need_horizontal ? first_row : 0, tv);
    // Interleaved [height, width, C] -> planar [C, height, width], mirrored along x when flipped.
    auto out = torch::empty({c, height, width}, torch::kUInt8);
    uint8_t* o = out.data_ptr<uint8_t>();
    const uint8_t* r = result.data();
    for (int64_t y = 0; y < height; y++)
        for (int64_t x = 0; x < width; x++) {
            const uint8_t* px = r + (y * width + (flip ? width - 1 - x : x)) * c;
            for (int64_t k = 0; k < c; k++) o[(k * height + y) * width + x] = px[k];
        }
    return out;
}

}  // namespace mae
