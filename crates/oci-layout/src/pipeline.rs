//! Writing on a helper thread while the caller hashes the next chunk.
//!
//! A blob writer hashes on the caller's thread; the disk write of a chunk then
//! overlaps with the hashing of the next one, so writing runs at the speed of the
//! slower of the two instead of their sum. Memory stays bounded: at most
//! [`BUFFERS`] chunks of [`CHUNK`] bytes exist per writer. Content smaller than one
//! chunk never starts a thread.

use std::io::{self, Write};
use std::mem;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

/// The size of one chunk handed to the helper thread.
pub(crate) const CHUNK: usize = 1024 * 1024;
/// The most chunks one writer holds (filling, queued, being written).
pub(crate) const BUFFERS: usize = 4;

/// A writer that fills chunks and writes full ones to `W` on a helper thread.
/// [`finish`](Self::finish) writes the rest and returns `W`; dropping it stops the
/// helper and drops `W` there before returning.
pub(crate) struct PipelinedWriter<W: Write + Send + 'static> {
    buf: Vec<u8>,
    /// How much the chunk being filled takes: [`CHUNK`], less for the first one when
    /// the writer's bytes do not start on a chunk boundary of the file.
    fill_to: usize,
    mode: Mode<W>,
}

enum Mode<W: Write + Send + 'static> {
    /// No full chunk yet: the writer is still here.
    Inline(W),
    /// The helper thread owns the writer.
    Threaded(Helper<W>),
    /// Writes go straight to the writer (see [`PipelinedWriter::direct`]).
    Direct(W),
    /// Finished or failed.
    Done,
}

struct Helper<W> {
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
    allocated: usize,
    worker: Option<JoinHandle<io::Result<W>>>,
    cancel: Arc<AtomicBool>,
}

impl<W: Write + Send + 'static> Helper<W> {
    fn start(mut out: W) -> Self {
        let (full, queue) = mpsc::sync_channel::<Vec<u8>>(BUFFERS);
        let (recycle, empty) = mpsc::channel::<Vec<u8>>();
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&cancel);
        let worker = std::thread::spawn(move || {
            while let Ok(mut chunk) = queue.recv() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                out.write_all(&chunk)?;
                chunk.clear();
                let _ = recycle.send(chunk);
            }
            out.flush()?;
            Ok(out)
        });
        Self { full: Some(full), empty, allocated: 0, worker: Some(worker), cancel }
    }

    /// Waits for the helper and returns its error (or a generic one).
    fn failure(&mut self) -> io::Error {
        self.full = None;
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            _ => io::Error::other("the blob writer's helper thread stopped"),
        }
    }

    fn send(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        let sent = self.full.as_ref().map(|tx| tx.send(chunk));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(self.failure()),
        }
    }

    /// An empty chunk: a recycled one, a new one while under the limit, or the next
    /// one the helper recycles.
    fn next_buffer(&mut self) -> io::Result<Vec<u8>> {
        if let Ok(buf) = self.empty.try_recv() {
            return Ok(buf);
        }
        if self.allocated < BUFFERS {
            self.allocated += 1;
            return Ok(Vec::with_capacity(CHUNK));
        }
        self.empty.recv().map_err(|_| self.failure())
    }

    fn finish(mut self) -> io::Result<W> {
        self.full = None;
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(io::Error::other("the blob writer's helper thread panicked")),
        }
    }
}

impl<W> Drop for Helper<W> {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.full = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl<W: Write + Send + 'static> PipelinedWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self::starting_at(out, 0)
    }

    /// A writer whose first byte lands at `offset` in the file `out` writes: the first
    /// chunk is cut short so that every later one starts on a multiple of [`CHUNK`] in
    /// the file. The kernel copies writes that cover its large page-cache folios whole
    /// much faster than writes that straddle them.
    pub(crate) fn starting_at(out: W, offset: u64) -> Self {
        let misalignment = usize::try_from(offset % CHUNK as u64).unwrap_or(0);
        Self { buf: Vec::new(), fill_to: CHUNK - misalignment, mode: Mode::Inline(out) }
    }

    /// From now on, writes go straight to the writer on the caller's thread: for a
    /// caller that does no work of its own between writes, which a helper thread could
    /// overlap the writes with. Only before anything was written; later it does nothing.
    pub(crate) fn direct(&mut self) {
        if self.buf.is_empty()
            && let Mode::Inline(out) = mem::replace(&mut self.mode, Mode::Done)
        {
            self.mode = Mode::Direct(out);
        }
    }

    /// Hands the full chunk to the helper (starting it on the first one).
    fn dispatch(&mut self) -> io::Result<()> {
        if let Mode::Inline(_) = self.mode {
            if let Mode::Inline(out) = mem::replace(&mut self.mode, Mode::Done) {
                let mut helper = Helper::start(out);
                helper.allocated = 1; // the chunk about to be sent
                self.mode = Mode::Threaded(helper);
            }
        }
        let Mode::Threaded(helper) = &mut self.mode else {
            return Err(io::Error::other("the blob writer has finished"));
        };
        let full = mem::take(&mut self.buf);
        helper.send(full)?;
        self.buf = helper.next_buffer()?;
        Ok(())
    }

    /// Writes what is left and returns the underlying writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        match mem::replace(&mut self.mode, Mode::Done) {
            Mode::Inline(mut out) => {
                out.write_all(&self.buf)?;
                out.flush()?;
                Ok(out)
            }
            Mode::Direct(mut out) => {
                out.flush()?;
                Ok(out)
            }
            Mode::Threaded(mut helper) => {
                if !self.buf.is_empty() {
                    helper.send(mem::take(&mut self.buf))?;
                }
                helper.finish()
            }
            Mode::Done => Err(io::Error::other("the blob writer has finished")),
        }
    }
}

impl<W: Write + Send + 'static> Write for PipelinedWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Mode::Direct(out) = &mut self.mode {
            return out.write(data);
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(CHUNK.min(data.len().max(4096)));
        }
        let mut rest = data;
        while !rest.is_empty() {
            let n = (self.fill_to - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.buf.len() == self.fill_to {
                self.dispatch()?;
                self.fill_to = CHUNK;
            }
        }
        Ok(data.len())
    }

    /// Does nothing: the data reaches the underlying writer on
    /// [`finish`](PipelinedWriter::finish).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn everything_arrives_in_order() {
        for len in [0, 10, CHUNK - 1, CHUNK, CHUNK + 1, 7 * CHUNK + 12_345] {
            let data: Vec<u8> = (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect();
            let out = Shared::default();
            let mut w = PipelinedWriter::new(out.clone());
            for piece in data.chunks(100_003) {
                w.write_all(piece).unwrap();
            }
            w.finish().unwrap();
            assert!(*out.0.lock().unwrap() == data, "length {len}");
        }
    }

    /// Records the length of each write it gets.
    #[derive(Clone, Default)]
    struct Lengths(Arc<Mutex<Vec<usize>>>);

    impl Write for Lengths {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_end_on_the_files_chunk_boundaries() {
        let out = Lengths::default();
        let mut w = PipelinedWriter::starting_at(out.clone(), 5 * CHUNK as u64 + 3072);
        for piece in vec![7u8; 3 * CHUNK].chunks(100_000) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap();
        assert_eq!(*out.0.lock().unwrap(), [CHUNK - 3072, CHUNK, CHUNK, 3072]);
        let aligned = Lengths::default();
        let mut w = PipelinedWriter::starting_at(aligned.clone(), 2 * CHUNK as u64);
        w.write_all(&vec![7u8; 2 * CHUNK]).unwrap();
        w.finish().unwrap();
        assert_eq!(*aligned.0.lock().unwrap(), [CHUNK, CHUNK]);
    }

    #[test]
    fn direct_writes_arrive_in_order_without_a_helper() {
        let data: Vec<u8> = (0..3 * CHUNK + 5).map(|i| u8::try_from(i % 251).unwrap()).collect();
        let out = Shared::default();
        let mut w = PipelinedWriter::new(out.clone());
        w.direct();
        assert!(matches!(w.mode, Mode::Direct(_)));
        for piece in data.chunks(400_000) {
            w.write_all(piece).unwrap();
        }
        assert!(matches!(w.mode, Mode::Direct(_)), "no helper thread");
        w.finish().unwrap();
        assert!(*out.0.lock().unwrap() == data);
        // Too late once something was written: it stays buffered.
        let mut w = PipelinedWriter::new(Shared::default());
        w.write_all(b"x").unwrap();
        w.direct();
        assert!(matches!(w.mode, Mode::Inline(_)));
    }

    struct Failing;

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn errors_of_the_helper_come_back() {
        let mut w = PipelinedWriter::new(Failing);
        let chunk = vec![0u8; CHUNK];
        let err = (0..2 * BUFFERS + 2)
            .find_map(|_| w.write_all(&chunk).err())
            .unwrap_or_else(|| w.finish().map(|_| ()).unwrap_err());
        assert_eq!(err.to_string(), "disk full");
    }
}
