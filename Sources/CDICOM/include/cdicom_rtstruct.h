// RT Structure Sets (RTSTRUCT) through DCMTK's dcmrt, behind a plain C API.
// Contours cross this API in each slice's pixel coordinates (x along columns, y along
// rows, pixel (i, j)'s centre at (i, j)); the bridge places them in the patient with each
// slice's own Image Position/Orientation (Patient) and Pixel Spacing.
// Each function returns 0, or -1 with a one-line reason in `error`.
#ifndef CDICOM_RTSTRUCT_H
#define CDICOM_RTSTRUCT_H
#ifdef __cplusplus
extern "C" {
#endif

/// One closed planar contour on one source slice.
typedef struct {
    int slice;             ///< index into the source paths
    int points;            ///< at least 3
    const double *xy;      ///< 2 × points: x, y in the slice's pixel coordinates
} cdicom_rt_contour;

typedef struct {
    const char *name;      ///< ROI Name (LO: at most 64 characters, UTF-8)
    unsigned char color[3];///< ROI Display Color, RGB
    const cdicom_rt_contour *contours;
    int n_contours;
} cdicom_rt_roi;

/// Writes an RT Structure Set with one ROI per `rois` entry (numbered 1, 2, …) over the
/// source slices: single-frame images of one series in one Frame of Reference, with
/// Study/Series Instance UIDs, Image Position/Orientation (Patient) and Pixel Spacing.
/// Patient and study come from the first source; every source is listed in the Contour
/// Image Sequence. Written under a temporary name in the same folder, then renamed.
int cdicom_write_rtstruct(const char *out_path, const char *const *source_paths, int n_sources,
                          const cdicom_rt_roi *rois, int n_rois, char error[512]);

typedef struct {
    int rois;                    ///< ROIs in the structure set
    char (*roi_names)[68];       ///< their names, in file order
    int chosen;                  ///< index of the ROI whose contours follow
    int contours;
    int *contour_slices;         ///< per contour: the series slice (index into series_paths) it lies on
    int *contour_starts;         ///< contours + 1 offsets into points, in points
    double *xy;                  ///< x, y pairs in the slice's pixel coordinates
    char error[512];
} cdicom_rtstruct;

/// Reads one ROI of an RT Structure Set (`roi_name`, or the first when NULL) placed on the
/// series given by its slice files: every contour must be CLOSED_PLANAR and lie on one
/// slice's plane, and the ROI must be in the series' Frame of Reference. Contours of fewer
/// than 3 points (which enclose nothing) are returned as they are.
/// The caller frees the result with cdicom_rtstruct_free.
int cdicom_read_rtstruct(const char *path, const char *const *series_paths, int n_series, const char *roi_name,
                         cdicom_rtstruct *out);

void cdicom_rtstruct_free(cdicom_rtstruct *rtstruct);

/// 1 when `path` is a DICOM file of the RT Structure Set Storage SOP Class, else 0.
int cdicom_is_rtstruct(const char *path);

#ifdef __cplusplus
}
#endif
#endif
