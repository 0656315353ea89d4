"""Detection (the paper's Table 7): Faster R-CNN + FPN on an SE backbone (``faster_rcnn``)."""
