// What the DCMTK bridge files (cdicom.cpp, seg.cpp) share; internal, not part of the C API.
#ifndef CDICOM_DCMTK_SHARED_H
#define CDICOM_DCMTK_SHARED_H
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
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

}  // namespace cdicom
#endif
