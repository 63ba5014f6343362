//! ward's engine, without I/O.
//!
//! Frames go in with their capture time; [`Event`]s come out. The pieces,
//! in the order a packet meets them:
//! [`decode`] (L2–L4, tunnels) → [`devices`] (inventory, with the LAN's
//! address [`scope`]) → [`flow`]
//! (bidirectional flows, bounded) → the flow's application parser from
//! `ward-proto` → every [`Detector`] → an [`EventSink`].
//! See `ARCHITECTURE.md` at the repository root for the whole map.
#![forbid(unsafe_code)]

pub mod config;
pub mod correlate;
pub mod decode;
pub mod devices;
pub mod engine;
pub mod event;
pub mod flow;
mod lru;
pub mod scope;
#[cfg(test)]
mod testutil;
pub mod time;

pub use config::Config;
pub use decode::{decode, MacAddr, Packet};
pub use engine::{
    Detector, Engine, EngineConfig, EventSink, FlowEndContext, Identifier, PacketContext, VecSink,
};
pub use event::{Alert, AlertCategory, Event, EventType, Finding, FindingKind};
pub use time::Timestamp;
