//! Figures (PNG, SVG, GIF) with plotters.
