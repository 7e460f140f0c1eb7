"""Faces over time: tracking people across frames, the webcam processor, recordings and video files."""
