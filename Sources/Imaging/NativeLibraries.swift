import CDICOM
import CImageIO
