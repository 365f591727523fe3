//! Going back to the previous build when a swapped-in one keeps panicking.
//!
//! A reload that swaps in a new build of a library keeps the generation it replaced started
//! and ready (its extensions' startup hooks ran, their shutdown hooks have not) for
//! `app.swap_rollback_window_seconds`: the standby. When the panic breaker of an extension
//! of a swapped module trips in the new generation within that window, the server goes back
//! to the standby — the builds and the configuration in force before the reload — in one
//! atomic switch, logs one line saying why and counts a rollback; the new generation is
//! retired after its last request. When the window passes, or another reload replaces the
//! new generation first, the standby is retired as any replaced generation is.
//!
//! The breakers are looked at every [`GUARD_INTERVAL`]: a request pays nothing for it, and
//! a breaker that trips is acted on within that interval.

use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::Mutex;

use super::Generation;
use super::reload::{ROLLBACKS_TOTAL, count, module_of, record_builds, retire, short, swapped};
use crate::host::Breaker;

/// How often a swap's guard looks at the new build's breakers.
const GUARD_INTERVAL: Duration = Duration::from_millis(50);

/// The generation a swap replaced, kept ready to go back to during the rollback window.
#[derive(Default)]
pub(crate) struct Standby(Mutex<Option<Arc<Generation>>>);

impl Standby {
    /// Takes the generation kept, if any (to retire it, or to stop its extensions when the
    /// server stops).
    pub fn take(&self) -> Option<Arc<Generation>> {
        self.0.lock().take()
    }

    /// Keeps `generation` for a rollback (the caller took the one kept before).
    pub fn keep(&self, generation: Arc<Generation>) {
        *self.0.lock() = Some(generation);
    }

    /// Takes the generation kept when it is still `kept`.
    fn take_if(&self, kept: &Weak<Generation>) -> Option<Arc<Generation>> {
        let mut standby = self.0.lock();
        let same = standby
            .as_ref()
            .is_some_and(|generation| std::ptr::eq(Arc::as_ptr(generation), kept.as_ptr()));
        if same { standby.take() } else { None }
    }
}

/// What a swap's guard watches: the breakers of the new build's extensions, until the
/// window closes.
pub(crate) struct SwapGuard {
    /// `(module, extension, old build, new build, its breaker)`, one per extension of a
    /// swapped module.
    watched: Vec<(String, String, String, String, Arc<Breaker>)>,
    window: Duration,
    next: Weak<Generation>,
    previous: Weak<Generation>,
}

impl SwapGuard {
    /// The guard of the swap from `previous` to `next`, or none when no build changed or
    /// `next` keeps no window.
    pub fn for_swap(previous: &Arc<Generation>, next: &Arc<Generation>) -> Option<SwapGuard> {
        let window = next.app().swap_rollback_window;
        let swaps = swapped(&previous.extensions, &next.extensions);
        if swaps.is_empty() || window.is_zero() {
            return None;
        }
        let breakers = next.host.breakers();
        let watched = (next.extensions.iter().zip(breakers))
            .filter_map(|(extension, breaker)| {
                let module = module_of(&extension.name);
                let (_, old, new) = swaps.iter().find(|(swapped, ..)| *swapped == module)?;
                let owned = |text: &str| text.to_string();
                Some((
                    owned(module),
                    owned(&extension.name),
                    owned(old),
                    owned(new),
                    breaker,
                ))
            })
            .collect();
        Some(SwapGuard {
            watched,
            window,
            next: Arc::downgrade(next),
            previous: Arc::downgrade(previous),
        })
    }

    /// Watches the new build's breakers for the window; goes back to the standby when one
    /// trips while the new generation is still in force, retires the standby otherwise.
    /// `reloading` is held while going back, so a reload and a rollback never cross.
    pub async fn watch(
        self,
        current: &ArcSwap<Generation>,
        reloading: &tokio::sync::Mutex<()>,
        standby: &Standby,
    ) {
        let closes = tokio::time::Instant::now() + self.window;
        let in_force = || std::ptr::eq(Arc::as_ptr(&current.load()), self.next.as_ptr());
        while tokio::time::Instant::now() < closes && in_force() {
            tokio::time::sleep(GUARD_INTERVAL).await;
            let Some(tripped) = self.watched.iter().find(|watched| watched.4.is_tripped()) else {
                continue;
            };
            let _one_at_a_time = reloading.lock().await;
            if !in_force() {
                break;
            }
            let Some(previous) = standby.take_if(&self.previous) else {
                return;
            };
            let abandoned = current.swap(previous.clone());
            let (module, extension, old, new, _) = tripped;
            tracing::error!(
                target: "beginnings::reload",
                module = module.as_str(),
                "rolled back: the new build of module `{module}` (sha256 {}) tripped the panic \
                 breaker of `{extension}` within {:?} of the swap; the previous build (sha256 \
                 {}) serves again, with the configuration in force before that reload",
                short(new),
                self.window,
                short(old),
            );
            let registry = previous.store.registry();
            count(registry, ROLLBACKS_TOTAL, module);
            record_builds(registry, &abandoned.extensions, &previous.extensions);
            drop(previous);
            retire(abandoned).await;
            return;
        }
        if let Some(previous) = standby.take_if(&self.previous) {
            retire(previous).await;
        }
    }
}
