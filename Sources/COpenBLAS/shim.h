#include <cblas.h>
/* Declared by OpenBLAS but not in every cblas.h variant. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
/* LAPACK (bundled in OpenBLAS): eigenvalues and eigenvectors of a symmetric matrix, divide and conquer. */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);
