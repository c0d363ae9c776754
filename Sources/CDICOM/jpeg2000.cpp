// JPEG 2000 (Part 1) and HTJ2K frames decoded from memory with OpenJPEG 2.5, which reads
// both. Values follow pydicom with pylibjpeg-openjpeg (the fixtures' reference).
#include "jpeg2000.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "openjpeg-2.5/openjpeg.h"
#include <algorithm>
#include <cstring>
#include <memory>

namespace cdicom {

const char *jpeg2000Family(const char *uid) {
    if (!strcmp(uid, "1.2.840.10008.1.2.4.90") || !strcmp(uid, "1.2.840.10008.1.2.4.91")) return "JPEG 2000";
    return htj2kName(uid) ? "HTJ2K" : nullptr;
}

const char *htj2kName(const char *uid) {
    if (!strcmp(uid, "1.2.840.10008.1.2.4.201")) return "High-Throughput JPEG 2000 (Lossless only)";
    if (!strcmp(uid, "1.2.840.10008.1.2.4.202")) return "High-Throughput JPEG 2000 with RPCL Options (Lossless only)";
    if (!strcmp(uid, "1.2.840.10008.1.2.4.203")) return "High-Throughput JPEG 2000 (Lossless or Lossy)";
    return nullptr;
}

namespace {

bool startsWith(const std::vector<uint8_t> &bytes, std::initializer_list<uint8_t> prefix) {
    return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

// A raw codestream opens with SOC + SIZ; a JP2 file (GDCM has written those) with its signature box.
bool isJP2(const std::vector<uint8_t> &bytes) {
    return startsWith(bytes, {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A});
}
bool startsCodestream(const std::vector<uint8_t> &bytes) {
    return startsWith(bytes, {0xFF, 0x4F, 0xFF, 0x51}) || isJP2(bytes);
}

// A complete codestream ends with EOC, before any fragment padding; OpenJPEG's own words for
// a cut one ("Tile part length size inconsistent with stream length") do not say so.
bool endsWithEOC(const std::vector<uint8_t> &bytes) {
    size_t end = bytes.size();
    while (end > 0 && bytes[end - 1] == 0) end--;
    return end >= 2 && bytes[end - 2] == 0xFF && bytes[end - 1] == 0xD9;
}

std::vector<uint8_t> bytesOf(DcmPixelItem *item) {
    Uint8 *data = nullptr;
    unsigned long length = item->getLength();
    if (length == 0) return {};
    if (item->getUint8Array(data).bad() || data == nullptr) throw JPEG2000Error{"cannot read a fragment"};
    return std::vector<uint8_t>(data, data + length);
}

// Frame k's first fragment, by the Basic Offset Table, or an empty list where the table is
// missing or does not point at fragment starts (both occur in the wild).
std::vector<size_t> framesByOffsetTable(const std::vector<uint8_t> &table, const std::vector<std::vector<uint8_t>> &fragments,
                                        size_t frames) {
    if (table.size() != 4 * frames) return {};
    std::vector<size_t> firsts;
    uint64_t position = 0;  // of the fragment's item tag, from the first fragment's
    size_t fragment = 0;
    for (size_t k = 0; k < frames; k++) {
        const uint8_t *p = &table[4 * k];
        uint64_t offset = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        if (k == 0 && offset != 0) return {};
        while (fragment < fragments.size() && position < offset) position += 8 + fragments[fragment++].size();
        if (position != offset || fragment == fragments.size() || (!firsts.empty() && firsts.back() == fragment)) return {};
        firsts.push_back(fragment);
    }
    return firsts;
}

struct MemoryStream {
    const uint8_t *data;
    size_t size, position;
};

OPJ_SIZE_T readStream(void *buffer, OPJ_SIZE_T count, void *user) {
    auto *stream = static_cast<MemoryStream *>(user);
    if (stream->position >= stream->size) return (OPJ_SIZE_T)-1;  // OpenJPEG's end of stream
    size_t n = std::min<size_t>(count, stream->size - stream->position);
    memcpy(buffer, stream->data + stream->position, n);
    stream->position += n;
    return n;
}

OPJ_OFF_T skipStream(OPJ_OFF_T count, void *user) {
    auto *stream = static_cast<MemoryStream *>(user);
    int64_t target = std::clamp<int64_t>((int64_t)stream->position + count, 0, (int64_t)stream->size);
    int64_t skipped = target - (int64_t)stream->position;
    stream->position = (size_t)target;
    return skipped == 0 && count != 0 ? -1 : skipped;
}

OPJ_BOOL seekStream(OPJ_OFF_T offset, void *user) {
    auto *stream = static_cast<MemoryStream *>(user);
    if (offset < 0 || (uint64_t)offset > stream->size) return OPJ_FALSE;
    stream->position = (size_t)offset;
    return OPJ_TRUE;
}

// OpenJPEG prints nothing without handlers either; its first error is the reason worth reporting.
void keepFirstError(const char *message, void *user) {
    auto *first = static_cast<std::string *>(user);
    if (!first->empty()) return;
    *first = message;
    while (!first->empty() && (first->back() == '\n' || first->back() == ' ')) first->pop_back();
    for (char &c : *first) if (c < 0x20 || c > 0x7e) c = '?';
}
void ignore(const char *, void *) {}

struct CodecDeleter { void operator()(opj_codec_t *codec) const { opj_destroy_codec(codec); } };
struct StreamDeleter { void operator()(opj_stream_t *stream) const { opj_stream_destroy(stream); } };
struct ImageDeleter { void operator()(opj_image_t *image) const { opj_image_destroy(image); } };

}  // namespace

std::vector<std::vector<uint8_t>> jpeg2000Frames(DcmPixelSequence *pixels, int frames) {
    unsigned long items = pixels->card();
    if (items < 2) throw JPEG2000Error{"no fragments after the Basic Offset Table"};
    std::vector<uint8_t> table;
    std::vector<std::vector<uint8_t>> fragments;
    for (unsigned long i = 0; i < items; i++) {
        DcmPixelItem *item = nullptr;
        if (pixels->getItem(item, i).bad() || item == nullptr) throw JPEG2000Error{"cannot read a fragment"};
        if (i == 0) table = bytesOf(item); else fragments.push_back(bytesOf(item));
    }
    size_t count = (size_t)frames;
    // Where each frame starts; a frame runs to the next one's first fragment.
    std::vector<size_t> firsts = count == 1 ? std::vector<size_t>{0} : framesByOffsetTable(table, fragments, count);
    if (firsts.empty() && fragments.size() == count) {
        for (size_t k = 0; k < count; k++) firsts.push_back(k);
    } else if (firsts.empty()) {
        for (size_t k = 0; k < fragments.size(); k++) if (startsCodestream(fragments[k])) firsts.push_back(k);
        if (firsts.size() != count || firsts[0] != 0)
            throw JPEG2000Error{std::to_string(frames) + " frames expected, but " + std::to_string(fragments.size())
                                + " fragments hold " + std::to_string(firsts.size()) + " codestream starts"};
    }
    std::vector<std::vector<uint8_t>> codestreams(count);
    for (size_t k = 0; k < count; k++) {
        size_t end = k + 1 < count ? firsts[k + 1] : fragments.size();
        for (size_t f = firsts[k]; f < end; f++) codestreams[k].insert(codestreams[k].end(), fragments[f].begin(), fragments[f].end());
    }
    return codestreams;
}

void decodeJPEG2000Frame(const std::vector<uint8_t> &codestream, const JPEG2000Layout &layout, int frame,
                         std::vector<int32_t> &stored) {
    std::string where = "frame " + std::to_string(frame) + ": ";
    if (!startsCodestream(codestream)) throw JPEG2000Error{where + "no JPEG 2000 codestream (no SOC/SIZ marker at its start)"};
    std::string error;
    std::unique_ptr<opj_codec_t, CodecDeleter> codec(opj_create_decompress(isJP2(codestream) ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
    if (!codec) throw std::bad_alloc();
    opj_set_error_handler(codec.get(), keepFirstError, &error);
    opj_set_warning_handler(codec.get(), ignore, nullptr);
    opj_set_info_handler(codec.get(), ignore, nullptr);
    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    // Strict: a truncated codestream is an error, not an image with its last tiles missing.
    if (!opj_setup_decoder(codec.get(), &parameters) || !opj_decoder_set_strict_mode(codec.get(), OPJ_TRUE))
        throw JPEG2000Error{where + "cannot set up OpenJPEG"};

    MemoryStream memory{codestream.data(), codestream.size(), 0};
    std::unique_ptr<opj_stream_t, StreamDeleter> stream(
        opj_stream_create(std::min<size_t>(codestream.size(), OPJ_J2K_STREAM_CHUNK_SIZE), OPJ_TRUE));
    if (!stream) throw std::bad_alloc();
    opj_stream_set_user_data(stream.get(), &memory, nullptr);
    opj_stream_set_user_data_length(stream.get(), codestream.size());
    opj_stream_set_read_function(stream.get(), readStream);
    opj_stream_set_skip_function(stream.get(), skipStream);
    opj_stream_set_seek_function(stream.get(), seekStream);

    opj_image_t *header = nullptr;
    bool readHeader = opj_read_header(stream.get(), codec.get(), &header);
    std::unique_ptr<opj_image_t, ImageDeleter> image(header);
    std::string failed = where + (endsWithEOC(codestream) ? "" : "the codestream is cut short (no EOC marker at its end): ");
    if (!readHeader || !image) throw JPEG2000Error{failed + (error.empty() ? "cannot read the codestream header" : error)};
    // Checked before decoding, so that a damaged size allocates nothing.
    long width = (long)image->x1 - (long)image->x0, height = (long)image->y1 - (long)image->y0;
    bool subsampled = false;
    for (OPJ_UINT32 c = 0; c < image->numcomps; c++) subsampled |= image->comps[c].dx != 1 || image->comps[c].dy != 1;
    if (width != layout.columns || height != layout.rows || (int)image->numcomps != layout.samplesPerPixel || subsampled)
        throw JPEG2000Error{where + "the codestream is " + std::to_string(width) + "x" + std::to_string(height) + " with "
                            + std::to_string(image->numcomps) + (subsampled ? " component(s), subsampled" : " component(s)")
                            + "; Columns x Rows " + std::to_string(layout.columns) + "x" + std::to_string(layout.rows)
                            + " with " + std::to_string(layout.samplesPerPixel) + " sample(s) per pixel expected"};
    // Sized only now that the codestream agrees with Rows and Columns (a 6 KB file claiming
    // 65535 x 65535 used to zero 17 GB here first).
    stored.resize((size_t)layout.rows * layout.columns * layout.samplesPerPixel);
    if (!opj_decode(codec.get(), stream.get(), image.get()) || !opj_end_decompress(codec.get(), stream.get()))
        throw JPEG2000Error{failed + (error.empty() ? "the codestream does not decode" : error)};

    size_t pixels = (size_t)layout.rows * layout.columns;
    int samples = layout.samplesPerPixel;
    for (int c = 0; c < samples; c++) {
        const opj_image_comp_t &component = image->comps[c];
        if (component.data == nullptr || component.w != (OPJ_UINT32)layout.columns || component.h != (OPJ_UINT32)layout.rows)
            throw JPEG2000Error{where + "component " + std::to_string(c + 1) + " did not decode to the image size"};
        // Encoders disagree with the dataset about signedness (pydicom issue 1149); pydicom
        // then reads the component's `prec` bits with the Pixel Representation's sign.
        bool reinterpret = samples == 1 && (int)component.sgnd != layout.pixelRepresentation
            && component.prec >= 1 && component.prec < 32;
        uint32_t mask = reinterpret ? (1u << component.prec) - 1 : 0, signBit = reinterpret ? 1u << (component.prec - 1) : 0;
        for (size_t p = 0; p < pixels; p++) {
            int32_t v = component.data[p];
            if (reinterpret) {
                uint32_t raw = (uint32_t)v & mask;
                v = layout.pixelRepresentation == 1 && (raw & signBit) ? (int32_t)((int64_t)raw - 2 * (int64_t)signBit) : (int32_t)raw;
            }
            stored[p * samples + c] = v;
        }
    }
}

}  // namespace cdicom
