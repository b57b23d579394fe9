"""The staff app's service layer (plain functions the Streamlit pages call), auth, charts and texts."""
