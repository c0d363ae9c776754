// What the SEG and RTSTRUCT bridges (seg.cpp, rtstruct.cpp) share: reading the objects and
// their source slices, and writing an object so that no reader ever sees half of it.
#include "dcmtk_shared.h"
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

void cdicom::check(const OFCondition &status, const std::string &what) {
    if (status.bad()) throw Failure{what + " (" + status.text() + ")"};
}

size_t cdicom::characters(const std::string &text) {
    return std::count_if(text.begin(), text.end(), [](char c) { return ((unsigned char)c & 0xC0) != 0x80; });
}

bool cdicom::isASCII(const std::string &text) {
    for (unsigned char c : text) if (c > 0x7e) return false;
    return true;
}

DcmDataset *cdicom::loadObject(DcmFileFormat &file, const char *path) {
    FILE *probe = fopen(path, "rb");
    if (!probe) throw Failure{strerror(errno)};
    fclose(probe);
    OFCondition status = file.loadFile(path);
    if (status == EC_StreamNotifyClient) throw Failure{"not a DICOM file, or truncated (the data end early)"};
    if (status == EC_InvalidStream) throw Failure{"damaged or truncated DICOM file (an element runs past the end)"};
    if (status.bad()) throw Failure{std::string("not a readable DICOM file (") + status.text() + ")"};
    return file.getDataset();
}

DcmDataset *cdicom::loadAttributes(DcmFileFormat &file, const std::string &path, const std::string &role) {
    // Values longer than 4 KB (the pixel data) stay on disk.
    OFCondition status = file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 4096);
    if (status == EC_StreamNotifyClient) throw Failure{role + " " + path + ": not a DICOM file, or truncated"};
    if (status.bad()) throw Failure{role + " " + path + ": not a readable DICOM file (" + status.text() + ")"};
    return file.getDataset();
}

cdicom::SOPUIDs cdicom::sopUIDsOf(DcmFileFormat &file) {
    DcmDataset *data = file.getDataset();
    SOPUIDs uids{stringOf(data, DCM_SOPClassUID), stringOf(data, DCM_SOPInstanceUID)};
    // Some anonymisers empty the dataset's UIDs but leave the file meta header's copies.
    if (uids.sopClass.empty()) uids.sopClass = stringOf(file.getMetaInfo(), DCM_MediaStorageSOPClassUID);
    if (uids.sopInstance.empty()) uids.sopInstance = stringOf(file.getMetaInfo(), DCM_MediaStorageSOPInstanceUID);
    return uids;
}

namespace {
// Removes a temporary file unless it was renamed into place.
struct TemporaryFile {
    std::string path;
    bool kept = false;
    ~TemporaryFile() { if (!path.empty() && !kept) unlink(path.c_str()); }
};
}  // namespace

void cdicom::saveAtomically(DcmFileFormat &file, const char *outPath, const std::string &what) {
    std::string out(outPath);
    size_t slash = out.find_last_of('/');
    std::string folder = slash == std::string::npos ? "" : out.substr(0, slash + 1);
    std::string base = slash == std::string::npos ? out : out.substr(slash + 1);
    TemporaryFile temporary;
    std::string name = folder + "." + base + ".XXXXXX";
    std::vector<char> pattern(name.begin(), name.end());
    pattern.push_back('\0');
    int fd = mkstemp(pattern.data());
    if (fd < 0) throw Failure{"cannot create a file in " + (folder.empty() ? std::string(".") : folder) + " (" + strerror(errno) + ")"};
    fchmod(fd, 0644);  // mkstemp's 0600 would make the renamed output private
    close(fd);
    temporary.path = pattern.data();
    errno = 0;
    OFCondition saved = file.saveFile(temporary.path.c_str(), EXS_LittleEndianExplicit);
    if (saved.bad()) {
        // DCMTK reports a failed write (a full disk, a file-size limit) as a stream condition;
        // the system's reason is the one a user can act on.
        bool streamFailed = saved == EC_StreamNotifyClient && errno != 0;
        throw Failure{"cannot write the " + what + " (" + (streamFailed ? std::string(strerror(errno)) : std::string(saved.text())) + ")"};
    }
    if (rename(temporary.path.c_str(), outPath) != 0)
        throw Failure{"cannot rename the written file to " + out + " (" + strerror(errno) + ")"};
    temporary.kept = true;
}
