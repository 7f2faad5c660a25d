// The files a double machine learning estimate adds to its run folder (recorded like every run, with
// runtime/recording): doubleml.json (the full estimate), folds.bin (the fold assignment), report.md and
// folds.svg (the readable summary and its plot).

export const DOUBLEML_FILE = 'doubleml.json';
export const FOLDS_FILE = 'folds.bin';
export const REPORT_FILE = 'report.md';
export const PLOT_FILE = 'folds.svg';
