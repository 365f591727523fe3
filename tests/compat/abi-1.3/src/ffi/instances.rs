//! The host's owning handles on the objects a library hands over: each call goes through
//! the object's versioned table, and dropping a handle frees the object in its library.

use abi_stable::std_types::{RErr, ROption, RSlice, RStr, RString, RVec};

use super::{
    ExtensionObject, ExtensionVTableRef, FilterObject, FilterVTableRef, HookError, HookResult,
    MessageView, Reply, RequestFuture, StatePtr,
};

/// Why an object from a library cannot be used.
fn short_table(what: &str, size: u32) -> HookError {
    HookError {
        panicked: false,
        message: RString::from(format!(
            "the library's {what} table is {size} bytes, shorter than the ABI 1.0 core"
        )),
    }
}

/// An extension instance created by a library.
pub struct ExtensionInstance {
    this: *mut std::ffi::c_void,
    vtable: ExtensionVTableRef,
}

// SAFETY: the SDK requires `Extension: Send + Sync`; the table is immutable.
unsafe impl Send for ExtensionInstance {}
// SAFETY: as above.
unsafe impl Sync for ExtensionInstance {}

impl std::fmt::Debug for ExtensionInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtensionInstance")
            .field("vtable", &self.vtable)
            .finish_non_exhaustive()
    }
}

impl ExtensionInstance {
    /// Takes ownership of an object returned by a library's `new_extension`.
    ///
    /// # Safety
    /// `object` comes from `new_extension` of a library that passed the loader's checks and
    /// is taken over once.
    pub unsafe fn from_object(object: ExtensionObject) -> Result<Self, String> {
        // SAFETY: the library built the table (caller's contract); its header is first.
        let vtable = unsafe { ExtensionVTableRef::from_raw(object.vtable.cast()) };
        let instance = ExtensionInstance {
            this: object.this,
            vtable,
        };
        if !vtable.holds_core() {
            // Not dropped through a table that may lack its `drop`.
            let size = vtable.table_header().size;
            std::mem::forget(instance);
            return Err(short_table("extension", size).message.into_string());
        }
        Ok(instance)
    }

    /// The table, for version checks.
    pub fn vtable(&self) -> ExtensionVTableRef {
        self.vtable
    }

    pub fn applies(
        &self,
        path: RStr<'_>,
        methods: RSlice<'_, RStr<'_>>,
        route_config_json: RStr<'_>,
    ) -> HookResult<bool> {
        // SAFETY: `this` is alive (owned by `self`) and matches its table.
        unsafe { (self.vtable.applies())(self.this, path, methods, route_config_json) }
    }

    pub fn new_filter(
        &self,
        path: RStr<'_>,
        methods: RSlice<'_, RStr<'_>>,
        route_config_json: RStr<'_>,
    ) -> HookResult<FilterInstance> {
        // SAFETY: as in `applies`.
        let object =
            unsafe { (self.vtable.new_filter())(self.this, path, methods, route_config_json) };
        match object.into_result() {
            // SAFETY: a filter object fresh from the same library.
            Ok(object) => unsafe { FilterInstance::from_object(object) }.into(),
            Err(error) => RErr(error),
        }
    }

    pub fn command(&self, name: RStr<'_>, argument_json: RStr<'_>) -> HookResult<RString> {
        // SAFETY: as in `applies`.
        unsafe { (self.vtable.command())(self.this, name, argument_json) }
    }

    pub fn route_keys(&self) -> ROption<RVec<RString>> {
        // SAFETY: as in `applies`.
        unsafe { (self.vtable.route_keys())(self.this) }
    }

    pub fn on_startup(&self) -> HookResult<()> {
        // SAFETY: as in `applies`.
        unsafe { (self.vtable.on_startup())(self.this) }
    }

    pub fn on_shutdown(&self) -> HookResult<()> {
        // SAFETY: as in `applies`.
        unsafe { (self.vtable.on_shutdown())(self.this) }
    }

    /// (1.1) The request values this instance's filters may set; `None` for a library built
    /// for 1.0, which has no such function.
    pub fn values_set(&self) -> Option<HookResult<RVec<RString>>> {
        let values_set = self.vtable.values_set()?;
        // SAFETY: as in `applies`; the table holds the field (checked by its length).
        Some(unsafe { values_set(self.this) })
    }

    /// (1.1) The request values this instance's filters read that an earlier extension must
    /// set; `None` for a library built for 1.0.
    pub fn values_read(&self) -> Option<HookResult<RVec<RString>>> {
        let values_read = self.vtable.values_read()?;
        // SAFETY: as in `values_set`.
        Some(unsafe { values_read(self.this) })
    }
}

impl Drop for ExtensionInstance {
    fn drop(&mut self) {
        // SAFETY: the object is dropped once, by its own library (which guards the
        // destructor against panics).
        unsafe { (self.vtable.drop())(self.this) }
    }
}

/// A filter built by a library for one route configuration.
pub struct FilterInstance {
    this: *mut std::ffi::c_void,
    vtable: FilterVTableRef,
}

// SAFETY: the SDK requires `Filter: Send + Sync`; the table is immutable.
unsafe impl Send for FilterInstance {}
// SAFETY: as above.
unsafe impl Sync for FilterInstance {}

impl std::fmt::Debug for FilterInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterInstance")
            .field("vtable", &self.vtable)
            .finish_non_exhaustive()
    }
}

impl FilterInstance {
    /// # Safety
    /// `object` comes from `new_filter` of a checked library and is taken over once.
    unsafe fn from_object(object: FilterObject) -> Result<Self, HookError> {
        // SAFETY: the library built the table (caller's contract); its header is first.
        let vtable = unsafe { FilterVTableRef::from_raw(object.vtable.cast()) };
        let filter = FilterInstance {
            this: object.this,
            vtable,
        };
        if !vtable.holds_core() {
            let size = vtable.table_header().size;
            std::mem::forget(filter);
            return Err(short_table("filter", size));
        }
        Ok(filter)
    }

    /// The table, for version checks.
    pub fn vtable(&self) -> FilterVTableRef {
        self.vtable
    }

    pub fn caps(&self) -> u32 {
        // SAFETY: `this` is alive (owned by `self`) and matches its table.
        unsafe { (self.vtable.caps())(self.this) }
    }

    pub fn new_state(&self) -> StatePtr {
        // SAFETY: as in `caps`.
        unsafe { (self.vtable.new_state())(self.this) }
    }

    pub fn drop_state(&self, state: StatePtr) {
        // SAFETY: as in `caps`; the state came from `new_state` and is dropped once.
        unsafe { (self.vtable.drop_state())(self.this, state) }
    }

    pub fn on_request(
        &self,
        state: StatePtr,
        request: MessageView<'_>,
    ) -> HookResult<ROption<Reply>> {
        // SAFETY: as in `caps`.
        unsafe { (self.vtable.on_request())(self.this, state, request) }
    }

    pub fn on_request_async<'a>(
        &'a self,
        state: StatePtr,
        request: MessageView<'a>,
    ) -> RequestFuture<'a> {
        // SAFETY: as in `caps`; the future borrows `self` for `'a`.
        unsafe { (self.vtable.on_request_async())(self.this, state, request) }
    }

    pub fn on_response(&self, state: StatePtr, response: MessageView<'_>) -> HookResult<()> {
        // SAFETY: as in `caps`.
        unsafe { (self.vtable.on_response())(self.this, state, response) }
    }
}

impl Drop for FilterInstance {
    fn drop(&mut self) {
        // SAFETY: dropped once, by its own library, which guards the destructor.
        unsafe { (self.vtable.drop())(self.this) }
    }
}
