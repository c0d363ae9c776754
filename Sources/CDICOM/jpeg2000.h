// JPEG 2000 and HTJ2K pixel data through OpenJPEG, which the free DCMTK lacks; used by
// cdicom.cpp only (not part of the C API, hence not under include/).
#ifndef CDICOM_JPEG2000_H
#define CDICOM_JPEG2000_H
#include <cstdint>
#include <string>
#include <vector>

class DcmPixelSequence;

namespace cdicom {

/// "JPEG 2000" or "HTJ2K" for the transfer syntaxes decoded here, nullptr for any other.
const char *jpeg2000Family(const char *transferSyntaxUID);

/// The name of an HTJ2K transfer syntax, in DCMTK's style; nullptr for any other.
/// DCMTK 3.6.7 predates HTJ2K and reads such files under the encoding it guesses.
const char *htj2kName(const char *transferSyntaxUID);

/// What the dataset says a frame holds.
struct JPEG2000Layout {
    int rows, columns, samplesPerPixel;
    int pixelRepresentation;  ///< 1: signed samples
};

/// One line naming what is wrong with the pixel data (and the frame, counted from 1).
struct JPEG2000Error {
    std::string reason;
};

/// Each frame's codestream: the fragments of `pixels` after the Basic Offset Table, grouped
/// into `frames` frames by the offset table, one fragment per frame, or codestream starts.
std::vector<std::vector<uint8_t>> jpeg2000Frames(DcmPixelSequence *pixels, int frames);

/// Decodes frame `frame` (counted from 1) into rows × columns × samplesPerPixel stored
/// values, interleaved.
/// Decodes one frame into `stored` (rows x columns x samples), which it sizes only after the
/// codestream's header has been checked against the layout.
void decodeJPEG2000Frame(const std::vector<uint8_t> &codestream, const JPEG2000Layout &layout, int frame,
                         std::vector<int32_t> &stored);

}  // namespace cdicom
#endif
