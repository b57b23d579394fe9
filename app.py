"""`streamlit run app.py` in a source checkout: runs the packaged app (reviewer/app/ui/main.py; `reviewer app`)."""
import runpy
from reviewer.app.ui import MAIN
runpy.run_path(str(MAIN), run_name="__main__")
