#ifndef CHDF5SHIM_H
#define CHDF5SHIM_H
#include <hdf5.h>

/* libhdf5 spells these as macros over globals that are only valid after H5open();
   Swift cannot import such macros, so each is a function here. */
hid_t dl_h5t_native_float(void);
hid_t dl_h5t_native_double(void);
hid_t dl_h5t_native_int32(void);
hid_t dl_h5t_native_int64(void);
hid_t dl_h5t_native_uint8(void);
hid_t dl_h5t_c_s1(void);
hid_t dl_h5p_default(void);
hid_t dl_h5p_dataset_create(void);
hid_t dl_h5s_all(void);
unsigned dl_h5f_acc_trunc(void);
unsigned dl_h5f_acc_rdonly(void);
/* Silences libhdf5's default error printing to stderr; dltrain reports errors itself. */
void dl_h5_silence_errors(void);

#endif
