// What the DCMTK bridge files (cdicom.cpp, seg.cpp, rtstruct.cpp) share; internal, not part of the C API.
// Defined in cdicom.cpp and dcmtk_files.cpp.
#ifndef CDICOM_DCMTK_SHARED_H
#define CDICOM_DCMTK_SHARED_H
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

namespace cdicom {

/// An attribute's text (all its values, backslash-separated) without DICOM's space
/// padding or the trailing NULs found in the wild; empty when absent.
OFString stringOf(DcmItem *item, const DcmTagKey &tag);

/// An integer attribute (US, SL or a string of digits), else `fallback`.
long integerOf(DcmItem *item, const DcmTagKey &tag, long fallback);

/// Once per process: DCMTK's logger off (segtune reports errors itself), attributes
/// written with VR UN read by their dictionary VR (as pydicom does), decoders registered.
void setUpDCMTK();

/// One line naming what is wrong; thrown inside the bridge, caught at the C boundary.
struct Failure {
    std::string reason;
};

/// `text` with control and non-ASCII bytes shown as '?', for error lines.
std::string printable(const std::string &text);

/// Throws a `Failure` "what (DCMTK's reason)" when `status` is bad.
void check(const OFCondition &status, const std::string &what);

/// UTF-8 characters (code points): DICOM limits LO to 64 characters, not bytes.
size_t characters(const std::string &text);

bool isASCII(const std::string &text);

/// Loads a SEG or RTSTRUCT to read it whole; one-line reasons for a missing, truncated or
/// damaged file.
DcmDataset *loadObject(DcmFileFormat &file, const char *path);

/// Loads a source slice's attributes only (values over 4 KB, the pixel data, stay on
/// disk); `role` ("source", "slice") starts the error line.
DcmDataset *loadAttributes(DcmFileFormat &file, const std::string &path, const std::string &role);

struct SOPUIDs {
    OFString sopClass, sopInstance;
};

/// An instance's SOP Class and Instance UIDs, from the file meta header where an
/// anonymiser emptied the dataset's.
SOPUIDs sopUIDsOf(DcmFileFormat &file);

/// Writes `file` (explicit little endian) under a hidden temporary name beside `outPath`
/// and renames it into place when complete, so no reader sees half of it; `what` names
/// the object in the error line.
void saveAtomically(DcmFileFormat &file, const char *outPath, const std::string &what);

/// Runs `body` at a C entry point: 0, or -1 with one line in `error` (512 bytes). No C++
/// exception crosses into Swift.
template <class Body>
int guarded(char *error, Body body) {
    try {
        setUpDCMTK();
        body();
        return 0;
    } catch (const Failure &failure) {
        snprintf(error, 512, "%s", failure.reason.c_str());
    } catch (const std::bad_alloc &) {
        snprintf(error, 512, "out of memory");
    } catch (const std::exception &e) {
        snprintf(error, 512, "DCMTK failed (%s)", e.what());
    } catch (...) {
        snprintf(error, 512, "DCMTK failed");
    }
    return -1;
}

/// A reader's C entry point: `out` zeroed, then filled by `body`; on failure what it had
/// allocated is released and only the error line (`out->error`, 512 bytes) is kept.
template <class Output, class Body, class Release>
int guardedRead(Output *out, Body body, Release release) {
    memset(out, 0, sizeof *out);
    int status = guarded(out->error, body);
    if (status != 0) {
        char reason[512];
        memcpy(reason, out->error, sizeof reason);
        release(out);
        memcpy(out->error, reason, sizeof reason);
    }
    return status;
}

}  // namespace cdicom
#endif
