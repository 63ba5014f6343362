//! `/events/stream`: server-sent events telling open pages that something
//! new was stored. Each event is `event: change` with the store's
//! [`ward_store::ChangeMarker`] as JSON; the page compares it with the
//! marker it was rendered with and offers a reload. Streams are capped at
//! `MAX_STREAMS` and end when the server shuts down.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use crate::{AppError, AppState, Authed, NoError, MAX_STREAMS};

/// Decrements the open-stream count when the stream is dropped.
struct StreamSlot(AppState);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0 .0.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

pub async fn stream(_auth: Authed, State(st): State<AppState>) -> Response {
    if st.0.streams.fetch_add(1, Ordering::Relaxed) >= MAX_STREAMS {
        st.0.streams.fetch_sub(1, Ordering::Relaxed);
        return AppError::new(StatusCode::SERVICE_UNAVAILABLE, "too many live streams")
            .into_response();
    }
    let slot = StreamSlot(st.clone());
    let rx = st.0.changes.subscribe();
    let shut = st.0.shutdown.subscribe();
    let events = futures_util::stream::unfold(
        (rx, shut, slot, true),
        |(mut rx, mut shut, slot, first)| async move {
            if *shut.borrow() {
                return None;
            }
            if !first {
                tokio::select! {
                    r = rx.changed() => r.ok()?,
                    _ = shut.changed() => return None,
                }
            }
            let marker = *rx.borrow_and_update();
            let ev = Event::default()
                .event("change")
                .data(serde_json::to_string(&marker).unwrap_or_default());
            Some((Ok::<_, NoError>(ev), (rx, shut, slot, false)))
        },
    );
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
