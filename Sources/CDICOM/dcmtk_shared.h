// What the DCMTK bridge files (cdicom.cpp, seg.cpp, rtstruct.cpp) share; internal, not part of the C API.
#ifndef CDICOM_DCMTK_SHARED_H
#define CDICOM_DCMTK_SHARED_H
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include <cstdio>
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

}  // namespace cdicom
#endif
