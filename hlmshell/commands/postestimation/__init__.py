"""Post-estimation commands: predict, estat, estimates, lrtest, test, lincom, ereturn."""
