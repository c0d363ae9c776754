// DCMTK behind a C boundary: no exception and no DCMTK type crosses it.
#include "cdicom.h"
#include "dcmtk_shared.h"
#include "jpeg2000.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dccodec.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

extern "C" const char *cdicom_dcmtk_version(void) { return OFFIS_DCMTK_VERSION_STRING; }

// Decoders register in a global list: once per process.
OFString cdicom::stringOf(DcmItem *item, const DcmTagKey &tag) {
    OFString value;
    if (item->findAndGetOFStringArray(tag, value).bad()) return OFString();
    size_t end = value.find_last_not_of(" \0", OFString_npos, 2);
    size_t start = value.find_first_not_of(' ');
    return end == OFString_npos ? OFString() : value.substr(start, end + 1 - start);
}

long cdicom::integerOf(DcmItem *item, const DcmTagKey &tag, long fallback) {
    Uint16 u;
    if (item->findAndGetUint16(tag, u).good()) return u;
    Sint32 s;
    if (item->findAndGetSint32(tag, s).good()) return s;
    OFString text = stringOf(item, tag);
    return text.empty() ? fallback : strtol(text.c_str(), nullptr, 10);
}

void cdicom::setUpDCMTK() {
    static std::once_flag once;
    std::call_once(once, [] {
        OFLog::configure(OFLogger::OFF_LOG_LEVEL);
        dcmEnableUnknownVRConversion.set(OFTrue);
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        DcmRLEDecoderRegistration::registerCodecs();
    });
}

std::string cdicom::printable(const std::string &text) {
    std::string out(text);
    for (char &c : out) if (c < 0x20 || c > 0x7e) c = '?';
    return out;
}

namespace {

using cdicom::Failure;
using cdicom::integerOf;
using cdicom::printable;
using cdicom::stringOf;

// Attribute text from a damaged file may hold any bytes; error lines stay printable ASCII.
void copyString(char *destination, size_t size, const OFString &value) {
    snprintf(destination, size, "%s", value.c_str());
}

bool doubleOf(DcmItem *item, const DcmTagKey &tag, unsigned long index, double &value) {
    Float64 v;
    if (item->findAndGetFloat64(tag, v, index).bad() || !std::isfinite(v)) return false;
    value = v;
    return true;
}

void readAttributes(DcmDataset *data, cdicom_image *out) {
    out->rows = (int)integerOf(data, DCM_Rows, 0);
    out->columns = (int)integerOf(data, DCM_Columns, 0);
    out->frames = (int)integerOf(data, DCM_NumberOfFrames, 1);
    out->samples_per_pixel = (int)integerOf(data, DCM_SamplesPerPixel, 1);
    out->bits_allocated = (int)integerOf(data, DCM_BitsAllocated, 0);
    out->bits_stored = (int)integerOf(data, DCM_BitsStored, out->bits_allocated);
    out->pixel_representation = (int)integerOf(data, DCM_PixelRepresentation, 0);
    if (!doubleOf(data, DCM_RescaleSlope, 0, out->rescale_slope)) out->rescale_slope = 1;
    if (!doubleOf(data, DCM_RescaleIntercept, 0, out->rescale_intercept)) out->rescale_intercept = 0;
    out->has_window = doubleOf(data, DCM_WindowCenter, 0, out->window_center)
        && doubleOf(data, DCM_WindowWidth, 0, out->window_width) && out->window_width > 0;
    out->has_pixel_spacing = doubleOf(data, DCM_PixelSpacing, 0, out->pixel_spacing[0])
        && doubleOf(data, DCM_PixelSpacing, 1, out->pixel_spacing[1]);
    out->has_image_position = 1;
    for (unsigned long i = 0; i < 3; i++)
        out->has_image_position &= doubleOf(data, DCM_ImagePositionPatient, i, out->image_position[i]);
    out->has_image_orientation = 1;
    for (unsigned long i = 0; i < 6; i++)
        out->has_image_orientation &= doubleOf(data, DCM_ImageOrientationPatient, i, out->image_orientation[i]);
    OFString instance = stringOf(data, DCM_InstanceNumber);
    out->has_instance_number = !instance.empty();
    out->instance_number = out->has_instance_number ? (int)strtol(instance.c_str(), nullptr, 10) : 0;
    out->has_slice_thickness = doubleOf(data, DCM_SliceThickness, 0, out->slice_thickness);
    copyString(out->photometric, sizeof out->photometric, stringOf(data, DCM_PhotometricInterpretation));
    copyString(out->modality, sizeof out->modality, stringOf(data, DCM_Modality));
    copyString(out->sop_instance_uid, sizeof out->sop_instance_uid, stringOf(data, DCM_SOPInstanceUID));
    copyString(out->series_instance_uid, sizeof out->series_instance_uid, stringOf(data, DCM_SeriesInstanceUID));
    copyString(out->series_description, sizeof out->series_description, stringOf(data, DCM_SeriesDescription));
}

// One stored sample (little-endian bytes after decoding) as a signed or unsigned integer
// of `bitsStored` bits, the way pydicom reads it: mask to the stored bits, then sign-extend.
inline double sampleAt(const Uint8 *bytes, size_t index, int bytesPerSample, int bitsStored, bool isSigned) {
    const Uint8 *p = bytes + index * bytesPerSample;
    uint32_t raw = 0;
    for (int b = 0; b < bytesPerSample; b++) raw |= (uint32_t)p[b] << (8 * b);
    if (bitsStored < 32) raw &= (1u << bitsStored) - 1;
    if (isSigned && bitsStored < 32 && (raw >> (bitsStored - 1)) & 1) return (double)(int64_t)raw - (double)(1ll << bitsStored);
    if (isSigned && bitsStored == 32) return (double)(int32_t)raw;
    return (double)raw;
}

// The sample layouts segtune reads, whatever the encoding; returns whether the samples are
// YBR_FULL, which toRGB converts. JPEG 2000 leaves YBR_ICT/YBR_RCT as RGB (OpenJPEG inverts the MCT).
bool checkLayout(const cdicom_image *out, bool jpeg2000) {
    int bytesPerSample = out->bits_allocated / 8;
    if (out->bits_allocated % 8 != 0 || bytesPerSample < 1 || bytesPerSample > 4)
        throw Failure{"unsupported Bits Allocated " + std::to_string(out->bits_allocated)};
    if (out->bits_stored < 1 || out->bits_stored > out->bits_allocated)
        throw Failure{"inconsistent Bits Stored " + std::to_string(out->bits_stored)};
    int spp = out->samples_per_pixel;
    if (spp != 1 && spp != 3) throw Failure{"unsupported Samples per Pixel " + std::to_string(spp)};
    OFString photometric(out->photometric);
    if (photometric == "PALETTE COLOR") throw Failure{"PALETTE COLOR images are not supported"};
    bool ybr = photometric == "YBR_FULL";
    bool transformed = jpeg2000 && (photometric == "YBR_ICT" || photometric == "YBR_RCT");
    if (spp == 3 && photometric != "RGB" && !ybr && !transformed)
        throw Failure{"unsupported Photometric Interpretation " + printable(photometric.c_str())};
    return ybr;
}

// Colour samples end as RGB: YBR_FULL (as left by RLE, native or JPEG 2000 encodings without a
// colour transform) converted with ITU-R BT.601 full range, as pydicom converts.
void toRGB(cdicom_image *out, bool ybr) {
    if (out->samples_per_pixel != 3) return;
    if (ybr) {
        float *values = out->values;
        size_t count = (size_t)out->frames * out->rows * out->columns * 3;
        double maxValue = (double)((1u << out->bits_stored) - 1), half = (maxValue + 1) / 2;
        for (size_t i = 0; i < count; i += 3) {
            double y = values[i], cb = values[i + 1] - half, cr = values[i + 2] - half;
            double rgb[3] = {y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb};
            for (int c = 0; c < 3; c++)
                values[i + c] = (float)std::fmin(maxValue, std::fmax(0.0, std::floor(rgb[c] + 0.5)));
        }
    }
    snprintf(out->photometric, sizeof out->photometric, "RGB");
}

void readPixels(DcmDataset *data, bool bigEndianSource, cdicom_image *out) {
    DcmElement *element = nullptr;
    if (data->findAndGetElement(DCM_PixelData, element).bad() || element == nullptr)
        throw Failure{"no pixel data (not an image)"};
    // After chooseRepresentation the data are native; OW arrives in host order, which on a
    // little-endian host is the same byte stream as OB.
    const Uint8 *bytes = nullptr;
    unsigned long length = element->getLength();
    if (element->getVR() == EVR_OW || element->getVR() == EVR_xs) {
        Uint16 *words = nullptr;
        if (element->getUint16Array(words).bad() || words == nullptr) throw Failure{"cannot read pixel data"};
        bytes = reinterpret_cast<const Uint8 *>(words);
    } else {
        Uint8 *raw = nullptr;
        if (element->getUint8Array(raw).bad() || raw == nullptr) throw Failure{"cannot read pixel data"};
        bytes = raw;
    }
    bool ybr = checkLayout(out, false);
    int bytesPerSample = out->bits_allocated / 8, spp = out->samples_per_pixel;
    size_t perFrame = (size_t)out->rows * out->columns * spp;
    // Frame by frame, so that 65535 x 65535 x 3 samples x 2^31 frames cannot wrap the product.
    size_t frameBytes = perFrame * bytesPerSample;
    if (frameBytes == 0 || (size_t)length / frameBytes < (size_t)out->frames)
        throw Failure{"pixel data has " + std::to_string(length) + " bytes, " + std::to_string(out->frames) + " frame(s) of "
                      + std::to_string(frameBytes) + " expected (truncated file?)"};
    size_t count = perFrame * out->frames;
    bool planar = spp == 3 && integerOf(data, DCM_PlanarConfiguration, 0) == 1;
    // OW arrives as host-order 16-bit words; a 32-bit sample from a big-endian file has its
    // high word first, so swap the words of each pair back into little-endian order.
    std::vector<Uint8> reordered;
    if (bytesPerSample == 4 && bigEndianSource && element->getVR() == EVR_OW) {
        reordered.assign(bytes, bytes + count * 4);
        for (size_t i = 0; i < count * 4; i += 4) {
            std::swap(reordered[i], reordered[i + 2]);
            std::swap(reordered[i + 1], reordered[i + 3]);
        }
        bytes = reordered.data();
    }
    float *values = (float *)malloc(sizeof(float) * (count ? count : 1));
    if (!values) throw std::bad_alloc();
    bool isSigned = out->pixel_representation == 1;
    size_t pixelsPerFrame = (size_t)out->rows * out->columns;
    for (size_t f = 0; f < (size_t)out->frames; f++) {
        for (size_t p = 0; p < pixelsPerFrame; p++) {
            for (int c = 0; c < spp; c++) {
                size_t source = f * perFrame + (planar ? c * pixelsPerFrame + p : p * spp + c);
                double v = sampleAt(bytes, source, bytesPerSample, out->bits_stored, isSigned);
                // Rescale applies to gray images only; computed in double so that
                // non-integer slopes are exact (DicomImage's inter data are integers).
                if (spp == 1) v = v * out->rescale_slope + out->rescale_intercept;
                values[f * perFrame + p * spp + c] = (float)v;
            }
        }
    }
    out->values = values;
    toRGB(out, ybr);
}

// JPEG 2000 and HTJ2K, which DCMTK cannot decode: frame by frame through OpenJPEG (jpeg2000.cpp).
void readJPEG2000Pixels(DcmDataset *data, const char *family, cdicom_image *out) {
    bool ybr = checkLayout(out, true);
    DcmPixelData *pixelData = nullptr;
    DcmElement *element = nullptr;
    if (data->findAndGetElement(DCM_PixelData, element).bad() || (pixelData = OFdynamic_cast(DcmPixelData *, element)) == nullptr)
        throw Failure{"no pixel data (not an image)"};
    E_TransferSyntax representation;
    const DcmRepresentationParameter *parameter = nullptr;
    pixelData->getOriginalRepresentationKey(representation, parameter);
    DcmPixelSequence *sequence = nullptr;
    if (pixelData->getEncapsulatedRepresentation(representation, parameter, sequence).bad() || sequence == nullptr)
        throw Failure{std::string("the ") + family + " pixel data are not encapsulated (no fragments)"};
    cdicom::JPEG2000Layout layout{out->rows, out->columns, out->samples_per_pixel, out->pixel_representation};
    try {
        // Split before allocating: a damaged Number of Frames fails here, not in malloc.
        std::vector<std::vector<uint8_t>> frames = cdicom::jpeg2000Frames(sequence, out->frames);
        size_t perFrame = (size_t)out->rows * out->columns * out->samples_per_pixel;
        std::vector<int32_t> stored;
        for (size_t f = 0; f < frames.size(); f++) {
            cdicom::decodeJPEG2000Frame(frames[f], layout, (int)f + 1, stored);
            // Allocated once the first frame has shown that Rows and Columns are real.
            if (!out->values && !(out->values = (float *)malloc(sizeof(float) * perFrame * frames.size())))
                throw std::bad_alloc();
            float *values = out->values + f * perFrame;
            for (size_t i = 0; i < perFrame; i++) {
                double v = stored[i];
                if (out->samples_per_pixel == 1) v = v * out->rescale_slope + out->rescale_intercept;
                values[i] = (float)v;
            }
        }
    } catch (const cdicom::JPEG2000Error &error) {
        throw Failure{std::string("cannot decode the ") + family + " pixel data (" + error.reason + ")"};
    }
    toRGB(out, ybr);
}

void read(const char *path, int withPixels, cdicom_image *out) {
    FILE *probe = fopen(path, "rb");
    if (!probe) throw Failure{strerror(errno)};
    int first = fgetc(probe);
    fclose(probe);
    if (first == EOF) throw Failure{"empty file"};

    DcmFileFormat file;
    OFCondition status = file.loadFile(path);
    if (status == EC_StreamNotifyClient) throw Failure{"not a DICOM file, or truncated (the data end early)"};
    if (status.bad()) throw Failure{std::string("not a readable DICOM file (") + status.text() + ")"};
    DcmDataset *data = file.getDataset();
    DcmXfer original(data->getOriginalXfer());
    copyString(out->transfer_syntax_uid, sizeof out->transfer_syntax_uid, original.getXferID());
    copyString(out->transfer_syntax_name, sizeof out->transfer_syntax_name, original.getXferName());
    // DCMTK reports the encoding it guessed for an HTJ2K dataset; the file meta tells the truth.
    OFString declared = stringOf(file.getMetaInfo(), DCM_TransferSyntaxUID);
    if (const char *name = cdicom::htj2kName(declared.c_str())) {
        copyString(out->transfer_syntax_uid, sizeof out->transfer_syntax_uid, declared);
        copyString(out->transfer_syntax_name, sizeof out->transfer_syntax_name, name);
    }
    if (!data->tagExists(DCM_PixelData)) throw Failure{"no pixel data (not a DICOM image)"};
    const char *jpeg2000 = cdicom::jpeg2000Family(out->transfer_syntax_uid);
    if (withPixels && jpeg2000) {
        status = data->loadAllDataIntoMemory();
        if (status.bad()) throw Failure{std::string("cannot load pixel data (") + status.text() + ")"};
    } else if (withPixels) {
        std::string unsupported = std::string("unsupported transfer syntax ") + out->transfer_syntax_uid + " ("
            + out->transfer_syntax_name + ")";
        if (original.getXfer() == EXS_Unknown) throw Failure{unsupported};
        if (original.isEncapsulated() && !DcmCodecList::canChangeCoding(original.getXfer(), EXS_LittleEndianExplicit))
            throw Failure{unsupported};
        // A registered decoder that still fails means damaged pixel data, not an unsupported syntax.
        OFCondition decoded = data->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
        if (decoded.bad() || !data->canWriteXfer(EXS_LittleEndianExplicit))
            throw Failure{std::string("cannot decode the ") + out->transfer_syntax_name + " pixel data ("
                          + (decoded.bad() ? decoded.text() : "damaged data") + ")"};
        status = data->loadAllDataIntoMemory();
        if (status.bad()) throw Failure{std::string("cannot load pixel data (") + status.text() + ")"};
    }
    // Read after decoding: the JPEG decoder rewrites Photometric Interpretation (YBR → RGB).
    readAttributes(data, out);
    if (out->rows <= 0 || out->columns <= 0) throw Failure{"no Rows/Columns (not a DICOM image)"};
    if (out->frames < 1) out->frames = 1;
    if (withPixels && jpeg2000) readJPEG2000Pixels(data, jpeg2000, out);
    else if (withPixels) readPixels(data, original.isBigEndian(), out);
}

}  // namespace

extern "C" int cdicom_read(const char *path, int with_pixels, cdicom_image *out) {
    memset(out, 0, sizeof *out);
    try {
        cdicom::setUpDCMTK();
        read(path, with_pixels, out);
        return 0;
    } catch (const Failure &failure) {
        snprintf(out->error, sizeof out->error, "%s", failure.reason.c_str());
    } catch (const std::bad_alloc &) {
        snprintf(out->error, sizeof out->error, "out of memory");
    } catch (const std::exception &error) {
        snprintf(out->error, sizeof out->error, "DCMTK failed (%s)", error.what());
    } catch (...) {
        snprintf(out->error, sizeof out->error, "DCMTK failed");
    }
    free(out->values);
    out->values = nullptr;
    return -1;
}

extern "C" void cdicom_free(cdicom_image *image) {
    if (image) { free(image->values); image->values = nullptr; }
}
