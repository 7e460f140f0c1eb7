"""Streamlit helpers shared by app.py and the pages (pickers, cached loaders). Kept out of pages/, where
Streamlit looks for pages: only real pages live there."""
