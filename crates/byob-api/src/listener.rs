//! The socket side of the server's limits, which axum's own listener lacks: at most `max_connections` open at
//! once (further ones wait in the kernel's backlog), and a connection with no traffic either way for
//! `idle_timeout` is closed — a client that opens a connection and sends nothing, or a header a byte at a time,
//! holds a slot for that long at most.

use std::{
    future::Future as _,
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::serve::Listener;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::{Instant, Sleep},
};

/// A TCP listener with a connection cap and an idle timeout.
#[derive(Debug)]
pub struct BoundedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    idle_timeout: Duration,
}

impl BoundedListener {
    #[must_use]
    pub fn new(inner: TcpListener, max_connections: usize, idle_timeout: Duration) -> Self {
        Self { inner, slots: Arc::new(Semaphore::new(max_connections.max(1))), idle_timeout }
    }
}

impl Listener for BoundedListener {
    type Io = BoundedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so a permit always comes.
        let slot = self.slots.clone().acquire_owned().await.ok();
        let (stream, address) = Listener::accept(&mut self.inner).await;
        let idle = Box::pin(tokio::time::sleep(self.idle_timeout));
        (BoundedStream { stream, _slot: slot, idle, idle_timeout: self.idle_timeout }, address)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection holding its slot until it closes, and failing once it has been idle too long.
#[derive(Debug)]
pub struct BoundedStream {
    stream: TcpStream,
    _slot: Option<OwnedSemaphorePermit>,
    idle: Pin<Box<Sleep>>,
    idle_timeout: Duration,
}

impl BoundedStream {
    fn active(&mut self) {
        self.idle.as_mut().reset(Instant::now() + self.idle_timeout);
    }

    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        self.idle.as_mut().poll(cx).is_ready()
    }
}

fn idle_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the connection was idle too long")
}

impl AsyncRead for BoundedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.active();
                }
                Poll::Ready(result)
            }
            Poll::Pending if self.timed_out(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for BoundedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, data) {
            Poll::Ready(result) => {
                self.active();
                Poll::Ready(result)
            }
            Poll::Pending if self.timed_out(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
