"""Images to aligned faces: decode bytes, detect faces, align and crop them, draw results."""
