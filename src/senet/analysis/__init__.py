"""The paper's studies: ablations (Tables 10-16), excitation analysis (Sec. 7.2), pruning, reports and the
demo (``senet demo``); ``plots`` draws from results it is given (it imports no analysis module)."""
