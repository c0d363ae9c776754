// RT Structure Sets through dcmrt; no exception and no DCMTK type crosses the C boundary.
#include "cdicom_rtstruct.h"
#include "dcmtk_shared.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmrt/drtstrct.h"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <set>
#include <string>
#include <vector>

namespace {

using cdicom::characters;
using cdicom::check;
using cdicom::Failure;
using cdicom::isASCII;
using cdicom::guarded;
using cdicom::integerOf;
using cdicom::printable;
using cdicom::stringOf;

std::string baseName(const std::string &path) {
    size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

double dot(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

// One slice of the series: its identity and where its pixels lie in the patient.
struct Slice {
    std::string path;
    OFString sopClass, sopInstance, study, series, frameOfReference;
    double position[3], row[3], column[3], normal[3];
    double rowSpacing = 0, columnSpacing = 0;  // Pixel Spacing: between rows (y), between columns (x)

    // Pixel coordinates (x along columns, y along rows) → patient (mm).
    void place(double x, double y, double *out) const {
        for (int i = 0; i < 3; i++) out[i] = position[i] + x * columnSpacing * row[i] + y * rowSpacing * column[i];
    }
};

Slice readSlice(const std::string &path) {
    DcmFileFormat file;
    DcmDataset *data = cdicom::loadAttributes(file, path, "slice");
    Slice s;
    s.path = path;
    cdicom::SOPUIDs uids = cdicom::sopUIDsOf(file);
    s.sopClass = uids.sopClass;
    s.sopInstance = uids.sopInstance;
    s.study = stringOf(data, DCM_StudyInstanceUID);
    s.series = stringOf(data, DCM_SeriesInstanceUID);
    s.frameOfReference = stringOf(data, DCM_FrameOfReferenceUID);
    if (s.sopClass.empty() || s.sopInstance.empty()) throw Failure{"slice " + path + " has no SOP Class/Instance UID"};
    if (integerOf(data, DCM_NumberOfFrames, 1) != 1)
        throw Failure{"slice " + path + " is a multi-frame image; only single-frame slices are supported"};
    Float64 orientation[6], spacing[2];
    bool placed = !s.frameOfReference.empty();
    for (unsigned long i = 0; i < 3 && placed; i++) placed = data->findAndGetFloat64(DCM_ImagePositionPatient, s.position[i], i).good();
    for (unsigned long i = 0; i < 6 && placed; i++) placed = data->findAndGetFloat64(DCM_ImageOrientationPatient, orientation[i], i).good();
    for (unsigned long i = 0; i < 2 && placed; i++) placed = data->findAndGetFloat64(DCM_PixelSpacing, spacing[i], i).good();
    if (!placed)
        throw Failure{"slice " + path + " lacks a Frame of Reference UID, Image Position/Orientation (Patient) or Pixel"
                      " Spacing, which RTSTRUCT contours need"};
    std::copy(orientation, orientation + 3, s.row);
    std::copy(orientation + 3, orientation + 6, s.column);
    s.normal[0] = s.row[1] * s.column[2] - s.row[2] * s.column[1];
    s.normal[1] = s.row[2] * s.column[0] - s.row[0] * s.column[2];
    s.normal[2] = s.row[0] * s.column[1] - s.row[1] * s.column[0];
    s.rowSpacing = spacing[0];
    s.columnSpacing = spacing[1];
    if (!(s.rowSpacing > 0) || !(s.columnSpacing > 0) || std::fabs(dot(s.normal, s.normal) - 1) > 1e-3)
        throw Failure{"slice " + path + " has an invalid Pixel Spacing or Image Orientation (Patient)"};
    return s;
}

// The slices must form one series in one Frame of Reference.
std::vector<Slice> readSlices(const char *const *paths, int count) {
    if (count < 1 || !paths) throw Failure{"no slices"};
    std::vector<Slice> slices;
    std::set<std::string> instances;
    for (int i = 0; i < count; i++) {
        if (!paths[i]) throw Failure{"slice path " + std::to_string(i) + " is NULL"};
        slices.push_back(readSlice(paths[i]));
        const Slice &s = slices.back(), &first = slices[0];
        if (s.series != first.series)
            throw Failure{"slices belong to different series: " + s.path + " (" + printable(s.series.c_str()) + "), "
                          + first.path + " (" + printable(first.series.c_str()) + ")"};
        if (s.frameOfReference != first.frameOfReference)
            throw Failure{"slices have different Frames of Reference: " + s.path + ", " + first.path};
        if (!instances.insert(s.sopInstance.c_str()).second)
            throw Failure{"two slices have the same SOP Instance UID " + printable(s.sopInstance.c_str()) + ": " + s.path};
    }
    return slices;
}

// A DS value: at most 16 characters, as precise as they allow (0.1 µm for |x| < 10 m).
std::string decimal(double value) {
    char text[32];
    for (int digits = 12; digits > 4; digits--) {
        snprintf(text, sizeof text, "%.*g", digits, value);
        if (strlen(text) <= 16) break;
    }
    return text;
}

// ------------------------------------------------------------------------------------------ writing

void addReferencedSeries(DRTStructureSetIOD &rt, const std::vector<Slice> &slices) {
    DRTReferencedFrameOfReferenceSequence::Item *frame = nullptr;
    check(rt.getReferencedFrameOfReferenceSequence().addItem(frame), "cannot add the referenced frame of reference");
    check(frame->setFrameOfReferenceUID(slices[0].frameOfReference), "invalid Frame of Reference UID in " + slices[0].path);
    DRTRTReferencedStudySequence::Item *study = nullptr;
    check(frame->getRTReferencedStudySequence().addItem(study), "cannot add the referenced study");
    // The study is referenced as the standard's own examples and other writers do.
    check(study->setReferencedSOPClassUID(UID_RETIRED_DetachedStudyManagementSOPClass), "cannot set the study's class");
    check(study->setReferencedSOPInstanceUID(slices[0].study), "invalid Study Instance UID in " + slices[0].path);
    DRTRTReferencedSeriesSequence::Item *series = nullptr;
    check(study->getRTReferencedSeriesSequence().addItem(series), "cannot add the referenced series");
    check(series->setSeriesInstanceUID(slices[0].series), "invalid Series Instance UID in " + slices[0].path);
    for (const Slice &s : slices) {
        DRTContourImageSequence::Item *image = nullptr;
        check(series->getContourImageSequence().addItem(image), "cannot add a contour image");
        check(image->setReferencedSOPClassUID(s.sopClass), "invalid SOP Class UID in " + s.path);
        check(image->setReferencedSOPInstanceUID(s.sopInstance), "invalid SOP Instance UID in " + s.path);
    }
}

void addROI(DRTStructureSetIOD &rt, const cdicom_rt_roi &roi, int number, const std::vector<Slice> &slices) {
    std::string name = roi.name, roiNumber = std::to_string(number);
    DRTStructureSetROISequence::Item *described = nullptr;
    check(rt.getStructureSetROISequence().addItem(described), "cannot add an ROI");
    check(described->setROINumber(roiNumber.c_str()), "cannot set the ROI number");
    check(described->setReferencedFrameOfReferenceUID(slices[0].frameOfReference), "cannot reference the frame of reference");
    // DCMTK's value checks take every LO as ASCII: a UTF-8 name is set unchecked.
    check(described->setROIName(name.c_str(), isASCII(name)), "cannot set the ROI name \"" + printable(name) + "\"");
    check(described->setROIGenerationAlgorithm("AUTOMATIC"), "cannot set the ROI generation algorithm");

    DRTROIContourSequence::Item *contoured = nullptr;
    check(rt.getROIContourSequence().addItem(contoured), "cannot add the ROI's contours");
    std::string color = std::to_string(roi.color[0]) + "\\" + std::to_string(roi.color[1]) + "\\" + std::to_string(roi.color[2]);
    check(contoured->setROIDisplayColor(color.c_str()), "cannot set the ROI display color");
    check(contoured->setReferencedROINumber(roiNumber.c_str()), "cannot reference the ROI");
    for (int c = 0; c < roi.n_contours; c++) {
        const cdicom_rt_contour &contour = roi.contours[c];
        if (contour.slice < 0 || contour.slice >= (int)slices.size())
            throw Failure{"contour " + std::to_string(c + 1) + " of ROI \"" + printable(name) + "\" names slice "
                          + std::to_string(contour.slice) + " of " + std::to_string(slices.size())};
        if (contour.points < 3 || !contour.xy)
            throw Failure{"contour " + std::to_string(c + 1) + " of ROI \"" + printable(name) + "\" has fewer than 3 points"};
        const Slice &s = slices[contour.slice];
        std::string data;
        for (int p = 0; p < contour.points; p++) {
            double patient[3];
            s.place(contour.xy[2 * p], contour.xy[2 * p + 1], patient);
            for (double v : patient) data += (data.empty() ? "" : "\\") + decimal(v);
        }
        DRTContourSequence::Item *item = nullptr;
        check(contoured->getContourSequence().addItem(item), "cannot add a contour");
        DRTContourImageSequence::Item *image = nullptr;
        check(item->getContourImageSequence().addItem(image), "cannot add the contour's image");
        check(image->setReferencedSOPClassUID(s.sopClass), "invalid SOP Class UID in " + s.path);
        check(image->setReferencedSOPInstanceUID(s.sopInstance), "invalid SOP Instance UID in " + s.path);
        check(item->setContourNumber(std::to_string(c + 1).c_str()), "cannot number a contour");
        check(item->setContourGeometricType("CLOSED_PLANAR"), "cannot set the contour type");
        check(item->setNumberOfContourPoints(std::to_string(contour.points).c_str()), "cannot set the contour's point count");
        // Checked values would be parsed back one by one: these were made as DS above.
        check(item->setContourData(data.c_str(), OFFalse), "cannot store the contour points");
    }

    DRTRTROIObservationsSequence::Item *observed = nullptr;
    check(rt.getRTROIObservationsSequence().addItem(observed), "cannot add the ROI observation");
    check(observed->setObservationNumber(roiNumber.c_str()), "cannot number the ROI observation");
    check(observed->setReferencedROINumber(roiNumber.c_str()), "cannot reference the ROI from its observation");
    check(observed->setRTROIInterpretedType(""), "cannot set the RT ROI Interpreted Type");  // type 2: not known here
    check(observed->setROIInterpreter(""), "cannot set the ROI Interpreter");
}

void writeStructureSet(const char *outPath, const char *const *sourcePaths, int count, const cdicom_rt_roi *rois, int nROIs) {
    if (!outPath || !*outPath) throw Failure{"no output path"};
    if (nROIs < 1 || !rois) throw Failure{"no ROIs"};
    bool ascii = true;
    std::set<std::string> names;
    for (int r = 0; r < nROIs; r++) {
        std::string name = rois[r].name ? rois[r].name : "";
        if (name.empty()) throw Failure{"an ROI name is empty"};
        if (characters(name) > 64) throw Failure{"the ROI name \"" + printable(name) + "\" is longer than 64 characters (DICOM LO)"};
        for (unsigned char c : name)
            if (c == '\\' || c < 0x20) throw Failure{"the ROI name holds a backslash or a control character (not allowed in DICOM LO)"};
        if (!names.insert(name).second) throw Failure{"two ROIs are named \"" + printable(name) + "\""};
        if (rois[r].n_contours > 0 && !rois[r].contours) throw Failure{"no contours for ROI \"" + printable(name) + "\""};
        ascii &= isASCII(name);
    }
    std::vector<Slice> slices = readSlices(sourcePaths, count);
    for (const Slice &s : slices)
        if (s.study.empty() || s.series.empty())
            throw Failure{"slice " + s.path + " has no Study/Series Instance UID (anonymised?), so an RTSTRUCT could not"
                          " reference it; use --format nifti"};

    // Patient and study from the first slice, so viewers and planning systems file the
    // structure set with its images. A non-ASCII name needs UTF-8 throughout.
    DcmFileFormat firstFile;
    check(firstFile.loadFile(slices[0].path.c_str(), EXS_Unknown, EGL_noChange, 4096), "cannot read slice " + slices[0].path);
    DcmDataset *first = firstFile.getDataset();
    if (!ascii) check(first->convertToUTF8(), "cannot convert the source's attributes to UTF-8 for a non-ASCII ROI name");
    DRTStructureSetIOD rt;
    check(rt.readStudyData(*first), "cannot import patient/study from " + slices[0].path);
    OFString charset = stringOf(first, DCM_SpecificCharacterSet);
    if (!charset.empty()) check(rt.setSpecificCharacterSet(charset, OFFalse), "cannot set the Specific Character Set");
    // The source's values are kept as they are, also where a source breaks a VR's rules.
    check(rt.setStudyInstanceUID(slices[0].study, OFFalse), "cannot set the Study Instance UID");

    char uid[100];
    check(rt.setSOPClassUID(UID_RTStructureSetStorage), "cannot set the SOP Class UID");
    check(rt.setSOPInstanceUID(dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT)), "cannot set the SOP Instance UID");
    check(rt.setSeriesInstanceUID(dcmGenerateUniqueIdentifier(uid, SITE_SERIES_UID_ROOT)), "cannot set the Series Instance UID");
    check(rt.setModality("RTSTRUCT"), "cannot set the Modality");
    check(rt.setSeriesNumber("1001"), "cannot set the Series Number");
    check(rt.setInstanceNumber("1"), "cannot set the Instance Number");
    std::string description = std::string("segtune ") + (nROIs == 1 && ascii ? rois[0].name : "structures");
    if (description.size() > 64) description = "segtune structures";
    check(rt.setSeriesDescription(description.c_str()), "cannot set the Series Description");
    check(rt.setManufacturer("segtune"), "cannot set the Manufacturer");
    check(rt.setStructureSetLabel("segtune"), "cannot set the Structure Set Label");
    OFString date, time;
    OFDateTime::getCurrentDateTime().getDate().getISOFormattedDate(date, OFFalse);
    OFDateTime::getCurrentDateTime().getTime().getISOFormattedTime(time, OFTrue, OFFalse, OFFalse, OFFalse);
    check(rt.setStructureSetDate(date), "cannot set the Structure Set Date");
    check(rt.setStructureSetTime(time), "cannot set the Structure Set Time");
    check(rt.setInstanceCreationDate(date), "cannot set the Instance Creation Date");
    check(rt.setInstanceCreationTime(time), "cannot set the Instance Creation Time");

    addReferencedSeries(rt, slices);
    for (int r = 0; r < nROIs; r++) addROI(rt, rois[r], r + 1, slices);

    DcmFileFormat file;
    check(rt.write(*file.getDataset()), "DCMTK cannot build the RT Structure Set");
    cdicom::saveAtomically(file, outPath, "RT Structure Set");
}

// ------------------------------------------------------------------------------------------ reading

// Where a contour lies: the slice whose plane holds every point, within a tenth of the
// smallest gap between slice planes (contours are written at the slices' own positions,
// give or take the rounding of DS values).
int sliceOfContour(const std::vector<Slice> &slices, const std::vector<Float64> &points, const std::string &what) {
    std::vector<double> planes;
    for (const Slice &s : slices) planes.push_back(dot(s.position, s.normal));
    std::vector<double> sorted(planes);
    std::sort(sorted.begin(), sorted.end());
    double gap = INFINITY;
    for (size_t k = 1; k < sorted.size(); k++) if (sorted[k] - sorted[k - 1] > 1e-6) gap = std::min(gap, sorted[k] - sorted[k - 1]);
    double tolerance = std::isfinite(gap) ? gap / 10 : 0.1;
    int best = 0;
    double bestDistance = INFINITY;
    for (size_t k = 0; k < slices.size(); k++) {
        double worst = 0;
        for (size_t p = 0; p + 2 < points.size(); p += 3) {
            double offset[3] = {points[p] - slices[k].position[0], points[p + 1] - slices[k].position[1],
                                points[p + 2] - slices[k].position[2]};
            worst = std::max(worst, std::fabs(dot(offset, slices[k].normal)));
        }
        if (worst < bestDistance) { bestDistance = worst; best = (int)k; }
    }
    if (bestDistance > tolerance) {
        char distance[64];
        snprintf(distance, sizeof distance, "%.3g mm", bestDistance);
        throw Failure{what + " lies on no slice plane of the series (the nearest, " + baseName(slices[best].path) + ", is "
                      + distance + " away)"};
    }
    return best;
}

void readStructureSet(const char *path, const char *const *seriesPaths, int count, const char *roiName, cdicom_rtstruct *out) {
    DcmFileFormat file;
    DcmDataset *data = cdicom::loadObject(file, path);
    OFString sopClass = stringOf(data, DCM_SOPClassUID);
    if (sopClass != UID_RTStructureSetStorage)
        throw Failure{"not an RT Structure Set (SOP Class " + printable(sopClass.empty() ? "missing" : sopClass.c_str()) + ")"};
    DRTStructureSetIOD rt;
    check(rt.read(*data), "damaged RT Structure Set");
    std::vector<Slice> slices = readSlices(seriesPaths, count);

    DRTStructureSetROISequence &described = rt.getStructureSetROISequence();
    size_t nROIs = described.getNumberOfItems();
    if (nROIs == 0) throw Failure{"holds no ROI (its Structure Set ROI Sequence is empty)"};
    out->rois = (int)nROIs;
    out->roi_names = (char(*)[68])calloc(nROIs, 68);
    if (!out->roi_names) throw std::bad_alloc();
    std::string names;
    int chosen = roiName ? -1 : 0;
    for (size_t r = 0; r < nROIs; r++) {
        OFString name;
        described.getItem(r).getROIName(name);
        snprintf(out->roi_names[r], 68, "%s", name.c_str());
        names += (r ? ", " : "") + printable(name.c_str());
        if (chosen < 0 && roiName && name == roiName) chosen = (int)r;
    }
    if (chosen < 0) throw Failure{"has no ROI named \"" + printable(roiName) + "\" (its ROIs: " + names + ")"};
    out->chosen = chosen;
    DRTStructureSetROISequence::Item &roi = described.getItem(chosen);
    OFString name, frame;
    Sint32 number = 0;
    roi.getROIName(name);
    std::string what = "ROI \"" + printable(name.c_str()) + "\"";
    if (roi.getROINumber(number).bad()) throw Failure{what + " has no ROI Number"};
    roi.getReferencedFrameOfReferenceUID(frame);
    if (frame != slices[0].frameOfReference)
        throw Failure{what + " is in Frame of Reference " + printable(frame.empty() ? "(none)" : frame.c_str())
                      + ", the series in " + printable(slices[0].frameOfReference.c_str())};

    std::vector<int> contourSlices, starts{0};
    std::vector<double> xy;
    DRTROIContourSequence &contoured = rt.getROIContourSequence();
    for (size_t i = 0; i < contoured.getNumberOfItems(); i++) {
        DRTROIContourSequence::Item &item = contoured.getItem(i);
        Sint32 referenced = 0;
        if (item.getReferencedROINumber(referenced).bad() || referenced != number) continue;
        DRTContourSequence &contours = item.getContourSequence();
        for (size_t c = 0; c < contours.getNumberOfItems(); c++) {
            DRTContourSequence::Item &contour = contours.getItem(c);
            std::string which = what + " contour " + std::to_string(c + 1);
            OFString type;
            contour.getContourGeometricType(type);
            if (type != "CLOSED_PLANAR")
                throw Failure{which + " is " + printable(type.empty() ? "of no Contour Geometric Type" : type.c_str())
                              + "; only CLOSED_PLANAR contours enclose an area"};
            OFVector<Float64> points;
            contour.getContourData(points);
            // Fewer than 3 points enclose nothing and fill nothing, but are kept: writers tracing
            // pixel centres (rt-utils) write a one-pixel island as one CLOSED_PLANAR point.
            if (points.empty() || points.size() % 3 != 0)
                throw Failure{which + " has " + std::to_string(points.size()) + " Contour Data values, not 3 per point"};
            for (Float64 v : points)
                if (!std::isfinite(v) || std::fabs(v) > 1e7) throw Failure{which + " has a Contour Data value that is no coordinate"};
            std::vector<Float64> values(points.begin(), points.end());
            int k = sliceOfContour(slices, values, which);
            const Slice &s = slices[k];
            for (size_t p = 0; p < values.size(); p += 3) {
                double offset[3] = {values[p] - s.position[0], values[p + 1] - s.position[1], values[p + 2] - s.position[2]};
                xy.push_back(dot(offset, s.row) / s.columnSpacing);
                xy.push_back(dot(offset, s.column) / s.rowSpacing);
            }
            contourSlices.push_back(k);
            starts.push_back((int)(xy.size() / 2));
        }
    }
    out->contours = (int)contourSlices.size();
    out->contour_slices = (int *)malloc(sizeof(int) * std::max<size_t>(1, contourSlices.size()));
    out->contour_starts = (int *)malloc(sizeof(int) * starts.size());
    out->xy = (double *)malloc(sizeof(double) * std::max<size_t>(1, xy.size()));
    if (!out->contour_slices || !out->contour_starts || !out->xy) throw std::bad_alloc();
    std::copy(contourSlices.begin(), contourSlices.end(), out->contour_slices);
    std::copy(starts.begin(), starts.end(), out->contour_starts);
    std::copy(xy.begin(), xy.end(), out->xy);
}

}  // namespace

extern "C" int cdicom_write_rtstruct(const char *out_path, const char *const *source_paths, int n_sources,
                                     const cdicom_rt_roi *rois, int n_rois, char error[512]) {
    error[0] = 0;
    return guarded(error, [&] { writeStructureSet(out_path, source_paths, n_sources, rois, n_rois); });
}

extern "C" int cdicom_read_rtstruct(const char *path, const char *const *series_paths, int n_series, const char *roi_name,
                                    cdicom_rtstruct *out) {
    return cdicom::guardedRead(out, [&] { readStructureSet(path, series_paths, n_series, roi_name, out); }, cdicom_rtstruct_free);
}

extern "C" void cdicom_rtstruct_free(cdicom_rtstruct *rtstruct) {
    if (!rtstruct) return;
    free(rtstruct->roi_names);
    free(rtstruct->contour_slices);
    free(rtstruct->contour_starts);
    free(rtstruct->xy);
    memset(rtstruct, 0, sizeof *rtstruct);
}

extern "C" int cdicom_is_rtstruct(const char *path) {
    int is = 0;
    char error[512];
    guarded(error, [&] {
        DcmFileFormat file;
        // The header is enough: values longer than 256 bytes stay on disk.
        if (file.loadFile(path, EXS_Unknown, EGL_noChange, 256).bad()) return;
        OFString sopClass = stringOf(file.getDataset(), DCM_SOPClassUID);
        if (sopClass.empty()) sopClass = stringOf(file.getMetaInfo(), DCM_MediaStorageSOPClassUID);
        is = sopClass == UID_RTStructureSetStorage;
    });
    return is;
}
