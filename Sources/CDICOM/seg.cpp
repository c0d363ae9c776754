// Binary DICOM SEG through dcmseg/dcmfg/dcmiod; no exception and no DCMTK type crosses the C boundary.
#include "cdicom_seg.h"
#include "dcmtk_shared.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dccodec.h"
#include "dcmtk/dcmfg/fgderimg.h"
#include "dcmtk/dcmfg/fgfracon.h"
#include "dcmtk/dcmfg/fgpixmsr.h"
#include "dcmtk/dcmfg/fgplanor.h"
#include "dcmtk/dcmfg/fgplanpo.h"
#include "dcmtk/dcmfg/fgseg.h"
#include "dcmtk/dcmiod/iodmacro.h"
#include "dcmtk/dcmiod/iodreferences.h"
#include "dcmtk/dcmseg/segdoc.h"
#include "dcmtk/dcmseg/segment.h"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
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

// One value of a multi-valued string attribute (DS components are kept as written).
OFString componentOf(DcmItem *item, const DcmTagKey &tag, unsigned long index) {
    OFString value;
    if (item->findAndGetOFString(tag, value, index).bad()) return OFString();
    size_t start = value.find_first_not_of(' '), end = value.find_last_not_of(' ');
    return start == OFString_npos ? OFString() : value.substr(start, end + 1 - start);
}

// ------------------------------------------------------------------------------------------ writing

// What the SEG needs from one source slice; positions and orientation as written (DS text),
// so that the SEG repeats the source's values exactly.
struct Source {
    std::string path;
    OFString sopClass, sopInstance, study, series, frameOfReference, patientID;
    OFString position[3], orientation[6], pixelSpacing, sliceThickness;
    bool hasPosition = false, hasOrientation = false;
    double positionValue[3] = {0, 0, 0}, orientationValue[6] = {0, 0, 0, 0, 0, 0};
    long rows = 0, columns = 0, frames = 1;
};

Source readSource(const std::string &path) {
    DcmFileFormat file;
    DcmDataset *data = cdicom::loadAttributes(file, path, "source");
    Source s;
    s.path = path;
    cdicom::SOPUIDs uids = cdicom::sopUIDsOf(file);
    s.sopClass = uids.sopClass;
    s.sopInstance = uids.sopInstance;
    s.study = stringOf(data, DCM_StudyInstanceUID);
    s.series = stringOf(data, DCM_SeriesInstanceUID);
    s.frameOfReference = stringOf(data, DCM_FrameOfReferenceUID);
    s.patientID = stringOf(data, DCM_PatientID);
    s.rows = integerOf(data, DCM_Rows, 0);
    s.columns = integerOf(data, DCM_Columns, 0);
    s.frames = integerOf(data, DCM_NumberOfFrames, 1);
    s.pixelSpacing = stringOf(data, DCM_PixelSpacing);
    s.sliceThickness = stringOf(data, DCM_SliceThickness);
    s.hasPosition = true;
    for (unsigned long i = 0; i < 3; i++) {
        s.position[i] = componentOf(data, DCM_ImagePositionPatient, i);
        s.hasPosition &= !s.position[i].empty();
        if (s.hasPosition) s.positionValue[i] = strtod(s.position[i].c_str(), nullptr);
    }
    s.hasOrientation = true;
    for (unsigned long i = 0; i < 6; i++) {
        s.orientation[i] = componentOf(data, DCM_ImageOrientationPatient, i);
        s.hasOrientation &= !s.orientation[i].empty();
        if (s.hasOrientation) s.orientationValue[i] = strtod(s.orientation[i].c_str(), nullptr);
    }
    if (s.sopClass.empty() || s.sopInstance.empty()) throw Failure{"source " + path + " has no SOP Class/Instance UID"};
    // Without them the SEG could not be filed with its images.
    if (s.study.empty() || s.series.empty())
        throw Failure{"source " + path + " has no Study/Series Instance UID (anonymised?), so a SEG could not be filed"
                      " with its images; use --format nifti"};
    if (!data->tagExists(DCM_PixelData) || s.rows <= 0 || s.columns <= 0)
        throw Failure{"source " + path + " is not an image (no pixel data or Rows/Columns)"};
    // dcmseg 3.6.7 writes a SEG only with a Frame of Reference, and the standard then wants
    // every frame placed: segtune's SEGs are for CT/MR-like series with full geometry.
    if (s.frameOfReference.empty() || !s.hasPosition || !s.hasOrientation)
        throw Failure{"source " + path + " lacks a Frame of Reference UID or Image Position/Orientation (Patient),"
                      " which a DICOM SEG needs"};
    if (s.frames != 1)
        throw Failure{"source " + path + " has " + std::to_string(s.frames)
                      + " frames; only single-frame slices are supported"};
    return s;
}

// Sources must form one image plane stack: one series, one size, one orientation.
void checkSources(const std::vector<Source> &sources, int rows, int columns) {
    const Source &first = sources[0];
    std::set<std::string> instances;
    for (const Source &s : sources) {
        auto size = [](const Source &x) { return std::to_string(x.rows) + "x" + std::to_string(x.columns); };
        if (s.rows != first.rows || s.columns != first.columns)
            throw Failure{"sources differ in size: " + s.path + " is " + size(s) + " (rows x columns), " + first.path
                          + " is " + size(first)};
        if (s.series != first.series)
            throw Failure{"sources belong to different series: " + s.path + " (" + printable(s.series.c_str()) + "), "
                          + first.path + " (" + printable(first.series.c_str()) + ")"};
        if (s.frameOfReference != first.frameOfReference)
            throw Failure{"sources have different Frames of Reference: " + s.path + ", " + first.path};
        for (int i = 0; i < 6; i++)
            if (std::fabs(s.orientationValue[i] - first.orientationValue[i]) > 1e-4)
                throw Failure{"sources differ in orientation: " + s.path + ", " + first.path};
        if (!instances.insert(s.sopInstance.c_str()).second)
            throw Failure{"two sources have the same SOP Instance UID " + printable(s.sopInstance.c_str()) + ": " + s.path};
    }
    if (first.rows != rows || first.columns != columns)
        throw Failure{"the masks are " + std::to_string(rows) + "x" + std::to_string(columns) + " but the sources are "
                      + std::to_string(first.rows) + "x" + std::to_string(first.columns) + " (rows x columns)"};
}

// 1-based rank of each slice along the slice normal (row × column direction): the
// Image Position dimension index, shared by slices at the same place.
std::vector<Uint32> positionIndices(const std::vector<Source> &sources) {
    const double *o = sources[0].orientationValue;
    double normal[3] = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
    std::vector<double> along;
    for (const Source &s : sources)
        along.push_back(s.positionValue[0] * normal[0] + s.positionValue[1] * normal[1] + s.positionValue[2] * normal[2]);
    std::vector<double> sorted(along);
    std::sort(sorted.begin(), sorted.end());
    std::vector<double> places;
    for (double d : sorted) if (places.empty() || d - places.back() > 1e-4) places.push_back(d);
    std::vector<Uint32> indices;
    for (double d : along) {
        size_t k = 0;
        while (k + 1 < places.size() && d - places[k] > 1e-4) k++;
        indices.push_back((Uint32)(k + 1));
    }
    return indices;
}

CodeSequenceMacro codeOf(const cdicom_code *code, const char *value, const char *meaning, const char *what) {
    if (!code) return CodeSequenceMacro(value, "SCT", meaning);
    if (!code->value || !*code->value || !code->scheme || !*code->scheme || !code->meaning || !*code->meaning)
        throw Failure{std::string("the segmented property ") + what + " code needs a value, a scheme and a meaning"};
    return CodeSequenceMacro(code->value, code->scheme, code->meaning);
}

// At most `limit` characters, never cutting a UTF-8 sequence.
std::string prefixOf(const std::string &text, size_t limit) {
    size_t count = 0, end = 0;
    for (; end < text.size(); end++)
        if (((unsigned char)text[end] & 0xC0) != 0x80 && count++ == limit) break;
    return text.substr(0, end);
}

// Three repairs to what dcmseg 3.6.7 writes:
// - its bit packing drops the last bits of a frame that does not end on a byte boundary
//   (seen: 3 frames of 5x7, bits 97-104 lost), so Pixel Data is packed here, frames back
//   to back, least significant bit first, as DICOM and highdicom expect;
// - it cannot mark a source reference with Spatial Locations Preserved, which highdicom
//   requires to index frames by source instance; the masks lie on the source grid: YES;
// - its value checks take every LO as ASCII, so text made from a UTF-8 label is set here.
void completeDataset(DcmDataset *dataset, const unsigned char *frames, const std::vector<bool> &stored,
                     bool anyInside, size_t pixels, const std::string &label, const std::string &description) {
    DcmItem *segment = nullptr;
    check(dataset->findAndGetSequenceItem(DCM_SegmentSequence, segment, 0), "no segment written");
    check(segment->putAndInsertOFStringArray(DCM_SegmentLabel, label.c_str()), "cannot set the segment label");
    check(dataset->putAndInsertOFStringArray(DCM_SeriesDescription, description.c_str()), "cannot set the Series Description");
    check(dataset->putAndInsertOFStringArray(DCM_ContentDescription, description.c_str()), "cannot set the Content Description");

    std::vector<size_t> kept;
    for (size_t k = 0; k < stored.size(); k++) if (stored[k] || !anyInside) kept.push_back(k);
    std::vector<Uint8> packed((kept.size() * pixels + 7) / 8, 0);
    size_t bit = 0;
    for (size_t k : kept)
        for (size_t i = 0; i < pixels; i++, bit++)
            if (frames[k * pixels + i]) packed[bit >> 3] |= (Uint8)(1u << (bit & 7));
    if (packed.size() % 2) packed.push_back(0);  // even length; the pad bits stay zero
    check(dataset->putAndInsertUint8Array(DCM_PixelData, packed.data(), (unsigned long)packed.size()),
          "cannot store the pixel data");

    DcmSequenceOfItems *perFrame = nullptr;
    check(dataset->findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, perFrame), "no per-frame groups written");
    for (unsigned long f = 0; perFrame && f < perFrame->card(); f++) {
        DcmItem *derivation = nullptr;
        if (perFrame->getItem(f)->findAndGetSequenceItem(DCM_DerivationImageSequence, derivation, 0).bad()) continue;
        DcmSequenceOfItems *sources = nullptr;
        if (derivation->findAndGetSequence(DCM_SourceImageSequence, sources).bad() || !sources) continue;
        for (unsigned long i = 0; i < sources->card(); i++)
            check(sources->getItem(i)->putAndInsertOFStringArray(DCM_SpatialLocationsPreserved, "YES"),
                  "cannot mark the source reference");
    }
}

void writeSegmentation(const char *outPath, const char *const *sourcePaths, int count, const unsigned char *frames,
                       int rows, int columns, const char *segmentLabel, const cdicom_code *category,
                       const cdicom_code *type) {
    if (!outPath || !*outPath) throw Failure{"no output path"};
    if (count < 1 || !sourcePaths) throw Failure{"no source images"};
    if (!frames) throw Failure{"no masks"};
    if (rows < 1 || columns < 1 || rows > 65535 || columns > 65535)
        throw Failure{"mask size " + std::to_string(rows) + "x" + std::to_string(columns) + " is not a DICOM image size"};
    std::string label = segmentLabel ? segmentLabel : "";
    if (label.empty()) throw Failure{"the segment label is empty"};
    if (characters(label) > 64) throw Failure{"the segment label is longer than 64 characters (DICOM LO)"};
    for (unsigned char c : label)
        if (c == '\\' || c < 0x20) throw Failure{"the segment label holds a backslash or a control character (not allowed in DICOM LO)"};
    CodeSequenceMacro categoryCode = codeOf(category, "123037004", "Anatomical Structure", "category");
    CodeSequenceMacro typeCode = codeOf(type, "91723000", "Anatomical Structure", "type");

    std::vector<Source> sources;
    for (int i = 0; i < count; i++) {
        if (!sourcePaths[i]) throw Failure{"source path " + std::to_string(i) + " is NULL"};
        sources.push_back(readSource(sourcePaths[i]));
    }
    checkSources(sources, rows, columns);

    // Equipment and content identification describe segtune, the maker of this object.
    IODGeneralEquipmentModule::EquipmentInfo equipment("segtune", "segtune", "1", "segtune");
    std::string description = prefixOf("segtune " + label, 64);
    // DCMTK's checks know only ASCII: it gets stand-ins for non-ASCII text, replaced in completeDataset.
    std::string asciiLabel = isASCII(label) ? label : "segment", asciiDescription = "segtune " + asciiLabel;
    ContentIdentificationMacro content("1", "SEGTUNE", asciiDescription.c_str(), "");
    DcmSegmentation *created = nullptr;
    check(DcmSegmentation::createBinarySegmentation(created, (Uint16)rows, (Uint16)columns, equipment, content),
          "cannot create the segmentation");
    std::unique_ptr<DcmSegmentation> seg(created);

    // Patient, Study and Frame of Reference from the first source, so viewers file the SEG
    // with its images. A non-ASCII label needs UTF-8 throughout: convert the source first.
    DcmFileFormat firstFile;
    check(firstFile.loadFile(sources[0].path.c_str(), EXS_Unknown, EGL_noChange, 4096),
          "cannot read source " + sources[0].path);
    if (!isASCII(label))
        check(firstFile.getDataset()->convertToUTF8(), "cannot convert the source's attributes to UTF-8 for a non-ASCII label");
    check(seg->importFromSourceImage(*firstFile.getDataset()), "cannot import patient/study from " + sources[0].path);
    // The import also takes the source's General Equipment (the scanner); this object was made by segtune.
    check(seg->setEquipmentInfo(equipment), "cannot set the equipment");

    char uid[100];
    check(seg->getSeries().setSeriesInstanceUID(dcmGenerateUniqueIdentifier(uid, SITE_SERIES_UID_ROOT)),
          "cannot set the Series Instance UID");
    check(seg->getSOPCommon().setSOPInstanceUID(dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT)),
          "cannot set the SOP Instance UID");
    check(seg->getSeries().setSeriesNumber("1000"), "cannot set the Series Number");
    check(seg->getSeries().setSeriesDescription(asciiDescription.c_str()),
          "cannot set the Series Description");

    DcmSegment *segment = nullptr;
    check(DcmSegment::create(segment, asciiLabel.c_str(), categoryCode, typeCode, DcmSegTypes::SAT_AUTOMATIC, "segtune"),
          "cannot create the segment (label \"" + printable(label) + "\")");
    std::unique_ptr<DcmSegment> owned(segment);
    Uint16 segmentNumber = 0;
    check(seg->addSegment(segment, segmentNumber), "cannot add the segment");
    owned.release();  // the segmentation owns it now

    const Source &first = sources[0];
    FGPlaneOrientationPatient orientation;
    check(orientation.setImageOrientationPatient(first.orientation[0], first.orientation[1], first.orientation[2],
                                                 first.orientation[3], first.orientation[4], first.orientation[5]),
          "invalid Image Orientation (Patient) in " + first.path);
    check(seg->addForAllFrames(orientation), "cannot add the plane orientation");
    if (!first.pixelSpacing.empty() || !first.sliceThickness.empty()) {
        FGPixelMeasures measures;
        if (!first.pixelSpacing.empty())
            check(measures.setPixelSpacing(first.pixelSpacing), "invalid Pixel Spacing in " + first.path);
        if (!first.sliceThickness.empty())
            check(measures.setSliceThickness(first.sliceThickness), "invalid Slice Thickness in " + first.path);
        check(seg->addForAllFrames(measures), "cannot add the pixel measures");
    }

    // Dimensions as highdicom writes them: segment number, then position along the normal.
    char organization[100];
    dcmGenerateUniqueIdentifier(organization, SITE_INSTANCE_UID_ROOT);
    IODMultiframeDimensionModule &dimensions = seg->getDimensions();
    check(dimensions.addDimensionIndex(DCM_ReferencedSegmentNumber, organization, DCM_SegmentIdentificationSequence,
                                       "ReferencedSegmentNumber"),
          "cannot add the segment dimension");
    check(dimensions.addDimensionIndex(DCM_ImagePositionPatient, organization, DCM_PlanePositionSequence,
                                       "ImagePositionPatient"),
          "cannot add the position dimension");
    std::vector<Uint32> places = positionIndices(sources);

    // Only non-empty frames are stored, as most tools do; an all-empty result keeps every
    // frame, as highdicom does, since a SEG needs at least one.
    size_t pixels = (size_t)rows * columns;
    std::vector<bool> stored(sources.size());
    bool anyInside = false;
    for (size_t k = 0; k < sources.size(); k++) {
        const unsigned char *mask = frames + k * pixels;
        stored[k] = std::any_of(mask, mask + pixels, [](unsigned char v) { return v != 0; });
        anyInside |= stored[k];
    }
    std::vector<Uint8> frame(pixels);
    for (size_t k = 0; k < sources.size(); k++) {
        if (anyInside && !stored[k]) continue;
        const Source &s = sources[k];
        ImageSOPInstanceReferenceMacro reference;
        check(reference.setReferencedSOPClassUID(s.sopClass), "invalid SOP Class UID in " + s.path);
        check(reference.setReferencedSOPInstanceUID(s.sopInstance), "invalid SOP Instance UID in " + s.path);
        OFVector<ImageSOPInstanceReferenceMacro> references;
        references.push_back(reference);
        std::unique_ptr<FGDerivationImage> derivation(DcmSegmentation::createDerivationImageFG(references, ""));
        if (!derivation) throw Failure{"cannot reference source " + s.path};
        FGFrameContent frameContent;
        check(frameContent.setDimensionIndexValues(segmentNumber, 0), "cannot set the frame's dimension index");
        check(frameContent.setDimensionIndexValues(places[k], 1), "cannot set the frame's dimension index");
        FGPlanePosPatient position;
        check(position.setImagePositionPatient(s.position[0], s.position[1], s.position[2]),
              "invalid Image Position (Patient) in " + s.path);
        OFVector<FGBase *> groups;
        groups.push_back(derivation.get());
        groups.push_back(&frameContent);
        groups.push_back(&position);
        std::copy(frames + k * pixels, frames + (k + 1) * pixels, frame.begin());
        check(seg->addFrame(frame.data(), segmentNumber, groups), "cannot add the frame for " + s.path);
    }

    // Referenced Series Sequence: every source, also those whose empty mask was not stored.
    IODReferences referenced;
    for (const Source &s : sources) {
        IODImageReference *reference =
            new IODImageReference(s.patientID, s.study, s.series, s.sopInstance, s.sopClass);
        if (!referenced.add(reference)) {
            delete reference;
            throw Failure{"cannot reference source " + s.path};
        }
    }
    OFString study;
    seg->getStudy().getStudyInstanceUID(study);
    if (seg->getCommonInstanceReference().addReferences(referenced, study) != sources.size())
        throw Failure{"cannot reference every source in the Referenced Series Sequence"};

    DcmFileFormat file;
    DcmDataset *dataset = file.getDataset();
    check(seg->writeDataset(*dataset), "DCMTK cannot build the segmentation");
    completeDataset(dataset, frames, stored, anyInside, pixels, label, description);
    cdicom::saveAtomically(file, outPath, "segmentation");
}

// ------------------------------------------------------------------------------------------ reading

void copyUID(char *destination, size_t size, const OFString &value) { snprintf(destination, size, "%s", value.c_str()); }

OFString sourceOfFrame(DcmSegmentation &seg, Uint32 frame) {
    FGDerivationImage *derivation =
        OFstatic_cast(FGDerivationImage *, seg.getFunctionalGroups().get(frame, DcmFGTypes::EFG_DERIVATIONIMAGE));
    OFString uid;
    if (!derivation) return uid;
    for (DerivationImageItem *item : derivation->getDerivationImageItems())
        for (SourceImageItem *source : item->getSourceImageItems())
            if (source->getImageSOPInstanceReference().getReferencedSOPInstanceUID(uid).good() && !uid.empty()) return uid;
    return uid;
}

void readSegmentation(const char *path, cdicom_seg *out) {
    DcmFileFormat file;
    DcmDataset *data = cdicom::loadObject(file, path);
    OFString sopClass = stringOf(data, DCM_SOPClassUID);
    if (sopClass != UID_SegmentationStorage)
        throw Failure{"not a DICOM Segmentation (SOP Class " + printable(sopClass.empty() ? "missing" : sopClass.c_str())
                      + ")"};
    OFString segType = stringOf(data, DCM_SegmentationType);
    if (segType != "BINARY")
        throw Failure{"not a binary segmentation (Segmentation Type " + printable(segType.empty() ? "missing" : segType.c_str()) + ")"};

    long rows = integerOf(data, DCM_Rows, 0), columns = integerOf(data, DCM_Columns, 0);
    long frames = integerOf(data, DCM_NumberOfFrames, 0);
    if (rows < 1 || columns < 1) throw Failure{"damaged segmentation: no Rows/Columns"};
    if (frames < 1) throw Failure{"damaged segmentation: no Number of Frames"};
    if (integerOf(data, DCM_BitsAllocated, 0) != 1) throw Failure{"damaged segmentation: BINARY but Bits Allocated is not 1"};

    // Pixels from dcmdata: dcmseg 3.6.7 leaves its frame list empty on a short Pixel Data
    // element, and its getFrame() then indexes past the end.
    DcmXfer original(data->getOriginalXfer());
    if (original.isEncapsulated()) {
        if (!DcmCodecList::canChangeCoding(original.getXfer(), EXS_LittleEndianExplicit))
            throw Failure{std::string("unsupported transfer syntax ") + original.getXferName()};
        check(data->chooseRepresentation(EXS_LittleEndianExplicit, nullptr), "cannot decode the pixel data");
    }
    DcmElement *element = nullptr;
    if (data->findAndGetElement(DCM_PixelData, element).bad() || !element) throw Failure{"damaged segmentation: no pixel data"};
    check(element->loadAllDataIntoMemory(), "cannot load the pixel data");
    Uint8 *bytes = nullptr;
    if (element->getVR() == EVR_OW || element->getVR() == EVR_xs) {
        Uint16 *words = nullptr;
        check(element->getUint16Array(words), "cannot read the pixel data");
        bytes = reinterpret_cast<Uint8 *>(words);  // host order = the little-endian byte stream here
    } else {
        check(element->getUint8Array(bytes), "cannot read the pixel data");
    }
    size_t pixels = (size_t)rows * columns, bits = pixels * frames;
    if (!bytes || element->getLength() < (bits + 7) / 8)
        throw Failure{"damaged segmentation: pixel data hold " + std::to_string(element->getLength()) + " bytes, "
                      + std::to_string((bits + 7) / 8) + " expected for " + std::to_string(frames) + " frames"};

    DcmSegmentation *loaded = nullptr;
    OFCondition status = DcmSegmentation::loadDataset(*data, loaded);
    std::unique_ptr<DcmSegmentation> seg(loaded);
    if (status.bad() || !seg) throw Failure{std::string("damaged segmentation (") + status.text() + ")"};
    if (seg->getSegmentationType() != DcmSegTypes::ST_BINARY) throw Failure{"not a binary segmentation"};
    if (seg->getNumberOfFrames() != (size_t)frames)
        throw Failure{"damaged segmentation: " + std::to_string(seg->getNumberOfFrames()) + " per-frame groups for "
                      + std::to_string(frames) + " frames"};
    if (seg->getNumberOfSegments() < 1) throw Failure{"damaged segmentation: no segments"};

    out->rows = (int)rows;
    out->columns = (int)columns;
    out->frames = (int)frames;
    out->segments = (int)seg->getNumberOfSegments();
    OFString label;
    if (DcmSegment *segment = seg->getSegment(1)) segment->getSegmentLabel(label);
    snprintf(out->segment_label, sizeof out->segment_label, "%s", label.c_str());

    out->frame_source_uids = (char(*)[72])calloc(frames, 72);
    out->frame_segments = (int *)calloc(frames, sizeof(int));
    out->pixels = (unsigned char *)malloc(bits);
    if (!out->frame_source_uids || !out->frame_segments || !out->pixels) throw std::bad_alloc();
    for (long f = 0; f < frames; f++) {
        OFString uid = sourceOfFrame(*seg, (Uint32)f);
        if (uid.empty()) throw Failure{"frame " + std::to_string(f + 1) + " references no source image"};
        copyUID(out->frame_source_uids[f], 72, uid);
        FGSegmentation *group = OFstatic_cast(FGSegmentation *, seg->getFunctionalGroups().get((Uint32)f, DcmFGTypes::EFG_SEGMENTATION));
        Uint16 number = 0;
        if (!group || group->getReferencedSegmentNumber(number).bad() || number < 1)
            throw Failure{"frame " + std::to_string(f + 1) + " names no segment"};
        out->frame_segments[f] = number;
    }
    // Binary frames follow each other bit by bit, least significant bit first, without padding.
    for (size_t i = 0; i < bits; i++) out->pixels[i] = (bytes[i >> 3] >> (i & 7)) & 1;

    DcmItem *series = nullptr;
    if (data->findAndGetSequenceItem(DCM_ReferencedSeriesSequence, series, 0).good() && series) {
        copyUID(out->referenced_series_uid, sizeof out->referenced_series_uid, stringOf(series, DCM_SeriesInstanceUID));
        DcmSequenceOfItems *instances = nullptr;
        if (series->findAndGetSequence(DCM_ReferencedInstanceSequence, instances).good() && instances && instances->card() > 0) {
            out->referenced_instance_uids = (char(*)[72])calloc(instances->card(), 72);
            if (!out->referenced_instance_uids) throw std::bad_alloc();
            for (unsigned long i = 0; i < instances->card(); i++) {
                OFString uid = stringOf(instances->getItem(i), DCM_ReferencedSOPInstanceUID);
                if (uid.empty()) continue;
                copyUID(out->referenced_instance_uids[out->referenced_instances++], 72, uid);
            }
        }
    }
}

}  // namespace

extern "C" int cdicom_write_binary_seg_coded(const char *out_path, const char *const *source_paths, int n_sources,
                                             const unsigned char *frames, int rows, int columns,
                                             const char *segment_label, const cdicom_code *category,
                                             const cdicom_code *type, char error[512]) {
    error[0] = 0;
    return guarded(error, [&] {
        writeSegmentation(out_path, source_paths, n_sources, frames, rows, columns, segment_label, category, type);
    });
}

extern "C" int cdicom_write_binary_seg(const char *out_path, const char *const *source_paths, int n_sources,
                                       const unsigned char *frames, int rows, int columns,
                                       const char *segment_label, char error[512]) {
    return cdicom_write_binary_seg_coded(out_path, source_paths, n_sources, frames, rows, columns, segment_label,
                                         nullptr, nullptr, error);
}

extern "C" int cdicom_read_binary_seg(const char *path, cdicom_seg *out) {
    return cdicom::guardedRead(out, [&] { readSegmentation(path, out); }, cdicom_seg_free);
}

extern "C" void cdicom_seg_free(cdicom_seg *seg) {
    if (!seg) return;
    free(seg->frame_source_uids);
    free(seg->frame_segments);
    free(seg->pixels);
    free(seg->referenced_instance_uids);
    memset(seg, 0, sizeof *seg);
}
