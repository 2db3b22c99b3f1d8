# Codes shared by the compiled optimiser kernels (_sgd_fast.pyx, _optim_fast.pyx);
# the Python side builds them in optim/_common.py (method_hyper).

# Update rules.
cdef enum:
    M_SGD = 0
    M_MOMENTUM = 1
    M_RMSPROP = 2
    M_ADAM = 3
    M_ADAMAX = 4

# Flags (bit mask).
cdef enum:
    F_NESTEROV = 1
    F_AMSGRAD = 2
    F_EPS_INSIDE = 4

# Adam forms.
cdef enum:
    A_ALGORITHM1 = 0
    A_EFFICIENT = 1
    A_CONSTANT_EPS_HAT = 2
