"""账户 Accounts: an admin adds accounts, resets passwords, deactivates, signs a user out everywhere."""
import streamlit as st

from reviewer.app import accounts as svc_accounts
from reviewer.app.auth import ROLE_ZH, ROLES
from reviewer.app.ui.common import T, flash, guard, require_user, table

me = require_user()
st.title(T("账户 Accounts", "Accounts"))
if me.role != "admin":
    st.error(T("只有管理员可以管理账户。", "Only an admin manages accounts."))
    st.stop()
st.caption(T("工作人员可修改本轮数据，分析人员只读，管理员另可管理账户。密码只保存加盐哈希；重设密码或停用账户会使其在所有浏览器退出。",
             "Staff may change a round, analysts read only, admins also manage accounts. Passwords are kept as "
             "salted hashes; a new password or deactivation signs the user out everywhere."))
msg = st.session_state.pop("flash", None)
if msg:
    st.success(msg)
users = svc_accounts.users()
table(users, ["username", "display_name", "role_zh", "created", "active"],
      config={"role_zh": st.column_config.Column(T("角色", "Role")),
              "created": st.column_config.Column(T("创建时间", "Created")),
              "active": st.column_config.CheckboxColumn(T("启用", "Active"))})

tabs = st.tabs([T("添加账户", "Add"), T("重设密码", "Reset password"), T("停用 / 启用", "Deactivate / activate"),
                T("记录", "Log")])
with tabs[0], st.form("add_account", clear_on_submit=True):
    c = st.columns(3)
    name = c[0].text_input(T("用户名", "User name"))
    disp = c[1].text_input(T("显示名", "Display name"))
    role = c[2].selectbox(T("角色", "Role"), list(ROLES), index=1, format_func=lambda r: f"{ROLE_ZH[r]} {r}")
    c = st.columns(2)
    pw = c[0].text_input(T("初始密码", "Password"), type="password")
    pw2 = c[1].text_input(T("再次输入", "Again"), type="password")
    if st.form_submit_button(T("添加", "Add"), type="primary") \
            and guard(svc_accounts.add_account, me, name, role, disp, pw, pw2) is not None:
        flash(T(f"已添加账户 {name}。", f"Account {name} added."))
        st.rerun()
names = list(users["username"])
with tabs[1], st.form("reset_password", clear_on_submit=True):
    who = st.selectbox(T("账户", "Account"), names, key="reset_who")
    c = st.columns(2)
    pw = c[0].text_input(T("新密码", "New password"), type="password")
    pw2 = c[1].text_input(T("再次输入", "Again"), type="password")
    if st.form_submit_button(T("重设密码", "Reset")) \
            and guard(svc_accounts.reset_password, me, who, pw, pw2) is not None:
        flash(T(f"已重设 {who} 的密码，其登录已全部退出。", f"Password of {who} reset; signed out everywhere."))
        st.rerun()
with tabs[2]:
    who = st.selectbox(T("账户", "Account"), names, key="active_who")
    c = st.columns(3)
    if c[0].button(T("停用", "Deactivate")) and guard(svc_accounts.set_active, me, who, False) is not None:
        flash(T(f"已停用 {who}。", f"{who} deactivated."))
        st.rerun()
    if c[1].button(T("启用", "Activate")) and guard(svc_accounts.set_active, me, who, True) is not None:
        flash(T(f"已启用 {who}。", f"{who} activated."))
        st.rerun()
    if c[2].button(T("全部退出", "Sign out everywhere"), key="out_all"):
        n = guard(svc_accounts.sign_out_everywhere, me, who)
        if n is not None:
            flash(T(f"{who} 已在所有浏览器退出。", f"{who} signed out everywhere."))
            st.rerun()
with tabs[3]:
    acts, sign_ins = svc_accounts.activity()
    st.markdown(T("**账户操作**", "**Account acts**"))
    table(acts, list(acts.columns), height=200)
    st.markdown(T("**登录尝试**（失败与锁定）", "**Sign-in attempts** (failures and lock-outs)"))
    table(sign_ins, list(sign_ins.columns), height=260)
