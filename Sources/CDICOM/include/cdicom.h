// A plain C API over DCMTK: the only place that sees DCMTK's C++ headers.
#ifndef CDICOM_H
#define CDICOM_H
#ifdef __cplusplus
extern "C" {
#endif

/// DCMTK's version string, for `segtune inspect --version` style reports.
const char *cdicom_dcmtk_version(void);

#ifdef __cplusplus
}
#endif
#endif
