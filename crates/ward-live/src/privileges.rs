//! Giving up privileges once the capture socket is open.
//!
//! Opening a packet socket needs CAP_NET_RAW (and CAP_NET_ADMIN for
//! promiscuous mode); reading from an open one needs nothing. So after
//! opening, ward keeps no capability at all: a bug in a protocol parser
//! then runs with the rights of an ordinary user. When started as root it
//! can also become another user (`--user ward`).
//!
//! [`drop_privileges`] does, in order: forbid regaining privileges through
//! set-uid programs (`PR_SET_NO_NEW_PRIVS`); if asked, switch groups and
//! user; then clear every capability set (effective, permitted,
//! inheritable, ambient, and the bounding set where allowed). It checks the
//! result and fails rather than run with privileges it said it dropped.

use caps::CapSet;
use nix::unistd::{Gid, Uid, User};

use crate::LiveError;

/// What is left after [`drop_privileges`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegeState {
    pub uid: u32,
    pub gid: u32,
    /// Effective capabilities still held (empty on success).
    pub effective: Vec<String>,
    pub permitted: Vec<String>,
}

fn err(what: &str, e: impl std::fmt::Display) -> LiveError {
    LiveError::Privileges(format!("{what}: {e}"))
}

/// Drop every capability and, when `user` is given, become that user
/// (requires starting as root).
pub fn drop_privileges(user: Option<&str>) -> Result<PrivilegeState, LiveError> {
    nix::sys::prctl::set_no_new_privs().map_err(|e| err("PR_SET_NO_NEW_PRIVS", e))?;
    // The bounding set limits what any later exec could gain; clearing it
    // needs CAP_SETPCAP, which a setcap'd (non-root) ward does not have —
    // there NO_NEW_PRIVS already closes that door.
    if caps::has_cap(None, CapSet::Effective, caps::Capability::CAP_SETPCAP).unwrap_or(false) {
        for c in caps::all() {
            let _ = caps::drop(None, CapSet::Bounding, c);
        }
    }
    if let Some(name) = user {
        if !Uid::effective().is_root() {
            return Err(LiveError::Privileges(format!(
                "--user {name} needs ward to start as root"
            )));
        }
        let u = User::from_name(name)
            .map_err(|e| err("looking up the user", e))?
            .ok_or_else(|| LiveError::Privileges(format!("no such user `{name}`")))?;
        nix::unistd::setgroups(&[u.gid]).map_err(|e| err("setgroups", e))?;
        nix::unistd::setgid(u.gid).map_err(|e| err("setgid", e))?;
        // From uid 0 to another uid the kernel clears the permitted and
        // effective sets by itself (no PR_SET_KEEPCAPS); we clear them below
        // anyway, for the case where ward did not start as root.
        nix::unistd::setuid(u.uid).map_err(|e| err("setuid", e))?;
        if Uid::current().is_root() || Gid::current() != u.gid {
            return Err(LiveError::Privileges("still root after setuid".into()));
        }
    }
    for set in [
        CapSet::Ambient,
        CapSet::Inheritable,
        CapSet::Effective,
        CapSet::Permitted,
    ] {
        caps::clear(None, set).map_err(|e| err("clearing capabilities", e))?;
    }
    let state = current_state();
    if !state.effective.is_empty() || !state.permitted.is_empty() {
        return Err(LiveError::Privileges(format!(
            "capabilities left after dropping: {:?}",
            state.effective
        )));
    }
    Ok(state)
}

/// The process's user, group and capabilities now.
pub fn current_state() -> PrivilegeState {
    let names = |set| -> Vec<String> {
        let mut v: Vec<String> = caps::read(None, set)
            .map(|s| s.iter().map(|c| c.to_string()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    PrivilegeState {
        uid: Uid::current().as_raw(),
        gid: Gid::current().as_raw(),
        effective: names(CapSet::Effective),
        permitted: names(CapSet::Permitted),
    }
}
