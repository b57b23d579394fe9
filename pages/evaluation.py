import importlib.util

import streamlit as st

from pages.common import T, header

header("evaluation", "试点中心年度考核评估（百分制，优秀/良好/合格/不合格）与中心状态（试点、认定、撤销）。",
       "Annual evaluation of pilot centres (100 points; bands) and the centre's state (pilot, recognised, revoked).")
if importlib.util.find_spec("reviewer.evaluation") is None:
    st.info(T("年度考核模块（第 7 项）尚在开发，完成后在此页提供。", "The annual evaluation (issue 7) is being built; it will appear here."))
else:
    st.info(T("年度考核模块已就绪，页面接入中。", "The evaluation module is available; this page is being wired."))
