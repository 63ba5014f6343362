//! The only `unsafe` code in ward-live: system calls on a Linux AF_PACKET
//! socket, each wrapped in a safe method.
//!
//! Why unsafe at all: `libc` exposes these calls as raw FFI. Every block
//! below passes either a pointer to a local, properly sized and aligned
//! `repr(C)` value together with its exact size, or a pointer/length pair
//! taken from a live Rust slice; the kernel writes at most the length it is
//! given. The socket is owned by an `OwnedFd`, so it is closed exactly once.
//! Return values are checked before any output is read.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::bpf::BpfInsn;

/// `ETH_P_ALL` in network byte order: every protocol.
fn eth_p_all_be() -> u16 {
    (libc::ETH_P_ALL as u16).to_be()
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a live reference to a `T` and we pass its exact size.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    check(ret).map(drop)
}

/// What one `recvmsg` returned.
pub struct Received {
    /// Bytes copied into the buffer.
    pub captured: usize,
    /// Length of the frame on the wire (`MSG_TRUNC` makes the kernel report it).
    pub wire_len: usize,
    /// Kernel receive time (`SCM_TIMESTAMPNS`), nanoseconds since the epoch.
    pub ts_nanos: Option<i64>,
    /// `PACKET_HOST`, `PACKET_OUTGOING` …
    pub pkttype: u8,
}

pub struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    /// An AF_PACKET raw socket bound to no protocol yet, so it receives
    /// nothing until [`PacketSocket::bind`]: a filter attached before that
    /// applies to the very first frame.
    pub fn new() -> io::Result<PacketSocket> {
        // SAFETY: plain system call with integer arguments.
        let fd = check(unsafe {
            libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0)
        })?;
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        Ok(PacketSocket {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Interface index of `name`, or `None` when there is no such interface.
    pub fn ifindex(name: &str) -> io::Result<Option<i32>> {
        let c = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `c` is a NUL-terminated string that outlives the call.
        let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
        Ok((idx != 0).then_some(idx as i32))
    }

    pub fn attach_filter(&self, prog: &[BpfInsn]) -> io::Result<()> {
        let mut insns: Vec<libc::sock_filter> = prog
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let len =
            u16::try_from(insns.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let fprog = libc::sock_fprog {
            len,
            filter: insns.as_mut_ptr(),
        };
        // The kernel copies the program during the call; `insns` outlives it.
        setsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
    }

    pub fn bind(&self, ifindex: i32) -> io::Result<()> {
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = eth_p_all_be();
        sll.sll_ifindex = ifindex;
        // SAFETY: pointer to a local sockaddr_ll with its exact size.
        check(unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// The ARPHRD_* hardware type of the bound interface.
    pub fn hardware_type(&self) -> io::Result<u16> {
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
        let mut len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: the kernel writes at most `len` bytes into `sll`.
        check(unsafe {
            libc::getsockname(
                self.fd.as_raw_fd(),
                (&mut sll as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        })?;
        Ok(sll.sll_hatype)
    }

    /// Promiscuous mode for as long as the socket is open (the kernel
    /// drops the membership when the socket closes, even on a crash).
    pub fn set_promiscuous(&self, ifindex: i32) -> io::Result<()> {
        // SAFETY: packet_mreq is plain data; all-zero is a valid value.
        let mut mreq: libc::packet_mreq = unsafe { zeroed() };
        mreq.mr_ifindex = ifindex;
        mreq.mr_type = libc::PACKET_MR_PROMISC as u16;
        setsockopt(
            &self.fd,
            libc::SOL_PACKET,
            libc::PACKET_ADD_MEMBERSHIP,
            &mreq,
        )
    }

    pub fn enable_timestamps(&self) -> io::Result<()> {
        let on: libc::c_int = 1;
        setsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &on)
    }

    /// Receive buffer size: `SO_RCVBUFFORCE` (past `rmem_max`, needs
    /// CAP_NET_ADMIN) and, failing that, `SO_RCVBUF`.
    pub fn set_receive_buffer(&self, bytes: usize) -> io::Result<()> {
        let n = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        setsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &n)
            .or_else(|_| setsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &n))
    }

    /// Wait until a frame can be read. `Ok(false)` on timeout or signal.
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        wait_readable(self.fd.as_raw_fd(), timeout)
    }

    /// Read one frame without blocking; `Ok(None)` when none is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        // SAFETY (all zeroed values): plain C structs; all-zero is valid.
        let mut from: libc::sockaddr_ll = unsafe { zeroed() };
        // Room for one cmsg with a timespec; u64 elements give cmsghdr alignment.
        let mut control = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = (&mut from as *mut libc::sockaddr_ll).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 8]>() as _;
        // SAFETY: every pointer in `msg` refers to a local or to `buf`,
        // each with its true length; they all outlive the call.
        let n = unsafe {
            libc::recvmsg(
                self.fd.as_raw_fd(),
                &mut msg,
                libc::MSG_TRUNC | libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        let wire_len = n as usize;
        let mut ts_nanos = None;
        // SAFETY: the CMSG_* helpers walk `control` within `msg_controllen`,
        // which the kernel set to the bytes it wrote; a timespec is read
        // only from a cmsg whose type says it holds one, unaligned-safe.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                let c = &*cmsg;
                if c.cmsg_level == libc::SOL_SOCKET
                    && c.cmsg_type == libc::SCM_TIMESTAMPNS
                    && c.cmsg_len as usize
                        >= libc::CMSG_LEN(size_of::<libc::timespec>() as u32) as usize
                {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    ts_nanos = Some(timespec_nanos(&ts));
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        Ok(Some(Received {
            captured: wire_len.min(buf.len()),
            wire_len,
            ts_nanos,
            pkttype: from.sll_pkttype,
        }))
    }

    /// `PACKET_STATISTICS`: (packets, drops) since the previous call — the
    /// kernel resets them on every read. Its `tp_packets` already includes
    /// the drops.
    pub fn statistics(&self) -> io::Result<(u32, u32)> {
        // SAFETY: tpacket_stats is plain data; all-zero is a valid value.
        let mut st: libc::tpacket_stats = unsafe { zeroed() };
        let mut len = size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: the kernel writes at most `len` bytes into `st`.
        check(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats).cast(),
                &mut len,
            )
        })?;
        Ok((st.tp_packets, st.tp_drops))
    }
}

/// `time_t` and `c_long` are 32 bits on some targets (32-bit Raspberry Pi OS),
/// so the conversion is not useless everywhere.
#[allow(clippy::useless_conversion)]
fn timespec_nanos(ts: &libc::timespec) -> i64 {
    i64::from(ts.tv_sec)
        .saturating_mul(1_000_000_000)
        .saturating_add(i64::from(ts.tv_nsec))
}

/// `poll()` one descriptor for input. `Ok(false)` on timeout or signal.
/// The caller guarantees `fd` stays open for the call (it borrows it from
/// an object that owns it); an invalid one is reported, not undefined.
pub fn wait_readable(fd: std::os::fd::RawFd, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one pollfd, passed with count 1.
    let ret = unsafe { libc::poll(&mut pfd, 1, ms) };
    if ret < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(e)
        };
    }
    if pfd.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        return Err(io::Error::other("capture descriptor reported an error"));
    }
    Ok(ret > 0 && pfd.revents & libc::POLLIN != 0)
}
