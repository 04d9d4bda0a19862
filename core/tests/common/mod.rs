//! Helpers shared by core's test files.

/// One `#[test]` per backend for each generic test function `fn name<T:
/// Real>()`, in a module of its name (`name::f64`, `name::fixed`, and
/// `name::f32` with `all`): `exact:` runs the two backends whose results
/// are exact (the f64 reference and the chip's fixed point), `all:` also f32.
#[macro_export]
macro_rules! on_backends {
    (@one $name:ident, $($b:ident = $t:ty),*) => {
        mod $name {
            $(
                #[test]
                fn $b() {
                    super::$name::<$t>();
                }
            )*
        }
    };
    (exact: $($name:ident),* $(,)?) => {
        $( $crate::on_backends!(@one $name, f64 = f64, fixed = stdp_core::Fx); )*
    };
    (all: $($name:ident),* $(,)?) => {
        $( $crate::on_backends!(@one $name, f32 = f32, f64 = f64, fixed = stdp_core::Fx); )*
    };
}
