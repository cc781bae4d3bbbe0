//! How a domain reaches its own store trait through a transaction that names no domain.
//!
//! [`Tx`] is backend-neutral and knows no domain. Each backend says, once, which domain store
//! traits its transaction implements: for each, a function that turns the transaction (as
//! `Any`) into that trait object. A domain asks for its own trait with `Tx::domain`
//! (`tx.domain::<dyn SwapStore>()`), and start-up refuses a backend that lacks the store of a
//! domain in the list, so the lookup cannot fail while serving.

use std::any::{Any, TypeId, type_name};

use super::{StoreError, Tx};

/// A backend's view of its transaction as the domain store `S` (a trait object type such as
/// `dyn SwapStore`).
pub type View<S> = for<'a> fn(&'a mut (dyn Any + 'static)) -> &'a mut S;

/// The domain store traits one backend implements.
#[derive(Default)]
pub struct StoreViews {
    views: Vec<Registered>,
}

struct Registered {
    store: TypeId,
    name: &'static str,
    /// A `View<S>` for the `S` of `store`.
    view: Box<dyn Any + Send + Sync>,
}

impl StoreViews {
    /// Adds the view of the store trait `S`.
    #[must_use]
    pub fn with<S: ?Sized + 'static>(mut self, view: View<S>) -> StoreViews {
        self.views.push(Registered {
            store: TypeId::of::<S>(),
            name: type_name::<S>(),
            view: Box::new(view),
        });
        self
    }

    /// Whether the store trait `store` has a view here.
    pub fn implements(&self, store: TypeId) -> bool {
        self.views
            .iter()
            .any(|registered| registered.store == store)
    }

    /// The names of the store traits with a view, for messages.
    pub fn names(&self) -> Vec<&'static str> {
        self.views
            .iter()
            .map(|registered| registered.name)
            .collect()
    }

    fn view<S: ?Sized + 'static>(&self) -> Option<View<S>> {
        self.views
            .iter()
            .find(|registered| registered.store == TypeId::of::<S>())
            .and_then(|registered| registered.view.downcast_ref::<View<S>>().copied())
    }
}

impl std::fmt::Debug for StoreViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl dyn Tx {
    /// This transaction as the domain store `S` (`tx.domain::<dyn SwapStore>()`).
    pub fn domain<S: ?Sized + 'static>(&mut self) -> Result<&mut S, StoreError> {
        let view = self.views().view::<S>().ok_or_else(|| {
            StoreError::new(
                "opening a domain store",
                format!("this store backend does not implement {}", type_name::<S>()),
            )
        })?;
        Ok(view(self))
    }
}
