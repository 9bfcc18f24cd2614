#include "jpeg.h"

#include "errors.h"
#include "tensors.h"

#ifdef MAE_WITH_JPEG
#include <csetjmp>
#include <cstdio>
#include <cstdlib>

#include <jpeglib.h>
// after jpeglib.h, which it needs
#include <jerror.h>
#endif

namespace mae {

#ifdef MAE_WITH_JPEG
namespace {

// libjpeg reports errors by calling error_exit, which must not return: it jumps back to decode_into. Only plain C
// data lives between the setjmp and the jump.
struct Decoder {
    jpeg_error_mgr pub;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    bool truncated;
    unsigned char* pixels;  // malloc'd; freed on failure
    int height, width, channels;
};

void error_exit(j_common_ptr cinfo) {
    auto* d = reinterpret_cast<Decoder*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, d->message);
    std::longjmp(d->jump, 1);
}

// Warnings stay quiet, but a file that ends early (libjpeg pads it with grey) is an error, as it is for PIL.
void emit_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) reinterpret_cast<Decoder*>(cinfo->err)->truncated = true;
}

enum Outcome { DECODED, FAILED, OTHER_COLOUR_SPACE };

Outcome decode_into(const unsigned char* data, unsigned long size, Decoder* d) {
    jpeg_decompress_struct cinfo;
    cinfo.err = jpeg_std_error(&d->pub);
    d->pub.error_exit = error_exit;
    d->pub.emit_message = emit_message;
    d->truncated = false;
    d->pixels = nullptr;
    d->message[0] = '\0';
    if (setjmp(d->jump)) {
        jpeg_destroy_decompress(&cinfo);
        std::free(d->pixels);
        d->pixels = nullptr;
        return FAILED;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, size);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_GRAYSCALE) {
        cinfo.out_color_space = JCS_GRAYSCALE;
    } else if (cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_RGB) {
        cinfo.out_color_space = JCS_RGB;
    } else {
        jpeg_destroy_decompress(&cinfo);
        return OTHER_COLOUR_SPACE;
    }
    // PIL's DecompressionBombError limit: a few bytes must not claim gigabytes.
    if (static_cast<double>(cinfo.image_width) * cinfo.image_height > 2.0 * 89478485) {
        std::snprintf(d->message, sizeof d->message, "a %u × %u image is over PIL's decompression-bomb limit",
                      cinfo.image_width, cinfo.image_height);
        jpeg_destroy_decompress(&cinfo);
        return FAILED;
    }
    jpeg_start_decompress(&cinfo);
    const size_t stride = static_cast<size_t>(cinfo.output_width) * cinfo.output_components;
    d->pixels = static_cast<unsigned char*>(std::malloc(stride * cinfo.output_height));
    if (d->pixels == nullptr) {
        std::snprintf(d->message, sizeof d->message, "out of memory for a %u × %u image", cinfo.output_width,
                      cinfo.output_height);
        jpeg_destroy_decompress(&cinfo);
        return FAILED;
    }
    while (cinfo.output_scanline < cinfo.output_height && !d->truncated) {
        JSAMPROW row = d->pixels + cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    if (!d->truncated) jpeg_finish_decompress(&cinfo);
    d->height = static_cast<int>(cinfo.output_height);
    d->width = static_cast<int>(cinfo.output_width);
    d->channels = cinfo.output_components;
    jpeg_destroy_decompress(&cinfo);
    if (d->truncated) {  // the rest would be libjpeg's grey padding
        std::snprintf(d->message, sizeof d->message, "the file ends before the image does (truncated)");
        std::free(d->pixels);
        d->pixels = nullptr;
        return FAILED;
    }
    return DECODED;
}

}  // namespace

bool jpeg_available() { return true; }

torch::Tensor decode_jpeg(const torch::Tensor& file) {
    require(file.dim() == 1 && file.scalar_type() == torch::kUInt8,
            "file must be U8 [bytes], got " + shape_string(file.sizes()));
    auto bytes = file.contiguous();
    Decoder d;
    Outcome outcome = decode_into(bytes.data_ptr<uint8_t>(), static_cast<unsigned long>(bytes.numel()), &d);
    if (outcome == OTHER_COLOUR_SPACE) throw Unsupported("only grey, YCbCr and RGB JPEGs are decoded natively");
    require(outcome == DECODED, std::string("not a readable JPEG: ") + d.message);
    unsigned char* pixels = d.pixels;
    return torch::from_blob(
        pixels, {d.height, d.width, d.channels}, [](void* p) { std::free(p); }, torch::kUInt8);
}

#else

bool jpeg_available() { return false; }

torch::Tensor decode_jpeg(const torch::Tensor&) {
    throw Unsupported("this libmae was built without libjpeg (apt install libjpeg-dev and rebuild)");
}

#endif

}  // namespace mae
