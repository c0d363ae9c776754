// Binary DICOM Segmentation objects (DICOM SEG) through DCMTK's dcmseg, behind a plain C API.
// Each function returns 0, or -1 with a one-line reason in `error`.
#ifndef CDICOM_SEG_H
#define CDICOM_SEG_H
#ifdef __cplusplus
extern "C" {
#endif

/// A coded concept (DICOM Code Sequence Macro): value, scheme, meaning, e.g. "10200004", "SCT", "Liver".
typedef struct {
    const char *value;
    const char *scheme;
    const char *meaning;
} cdicom_code;

/// Writes a binary SEG with one segment, one mask per source slice.
/// `frames` holds n_sources × rows × columns bytes (nonzero = inside), in the order of
/// `source_paths`; the sources must be single-frame images of one series with these rows
/// and columns and one orientation, with Study/Series/Frame of Reference UIDs and Image
/// Position/Orientation (Patient). Only non-empty frames are stored (all of them when
/// every mask is empty); the Referenced Series Sequence lists every source, so a reader
/// still knows the whole slice set. The file is written under a temporary name in the
/// same folder and then renamed.
int cdicom_write_binary_seg(const char *out_path, const char *const *source_paths, int n_sources,
                            const unsigned char *frames, int rows, int columns,
                            const char *segment_label, char error[512]);

/// As cdicom_write_binary_seg, with the segmented property category and type (CID 7150,
/// 7151); NULL for either means SCT 123037004 / SCT 91723000 "Anatomical Structure".
int cdicom_write_binary_seg_coded(const char *out_path, const char *const *source_paths, int n_sources,
                                  const unsigned char *frames, int rows, int columns,
                                  const char *segment_label, const cdicom_code *category,
                                  const cdicom_code *type, char error[512]);

typedef struct {
    int rows;
    int columns;
    int frames;                        ///< frames stored in the file
    int segments;
    char segment_label[68];            ///< of segment 1
    char referenced_series_uid[72];    ///< first item of the Referenced Series Sequence; "" if absent
    char (*frame_source_uids)[72];     ///< per frame: the referenced SOP Instance UID
    int *frame_segments;               ///< per frame: the segment number (1-based)
    unsigned char *pixels;             ///< frames × rows × columns, 0 or 1
    int referenced_instances;          ///< instances in the Referenced Series Sequence (first series)
    char (*referenced_instance_uids)[72];
    char error[512];
} cdicom_seg;

/// Reads a binary SEG; the caller frees it with cdicom_seg_free.
int cdicom_read_binary_seg(const char *path, cdicom_seg *out);

void cdicom_seg_free(cdicom_seg *seg);

#ifdef __cplusplus
}
#endif
#endif
