import Models
import Imaging
