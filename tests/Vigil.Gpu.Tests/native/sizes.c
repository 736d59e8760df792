/* Prints the sizes of the native structs Vigil declares, from the real headers. Built and run on the GPU machine:
 *   gcc -I/usr/local/cuda/include -I<nv-codec-headers>/include sizes.c -o sizes && ./sizes
 * The numbers are the expected values in tests/Vigil.Tests/{Cuda,Nvdec}/*StructTests.cs. */
#include <stdio.h>
#include <stddef.h>
#include <cuda.h>
#include <ffnvcodec/dynlink_cuviddec.h>
#include <ffnvcodec/dynlink_nvcuvid.h>

int main(void)
{
    printf("CUDA_MEMCPY2D %zu\n", sizeof(CUDA_MEMCPY2D));
    printf("CUVIDDECODECAPS %zu\n", sizeof(CUVIDDECODECAPS));
    printf("CUVIDDECODECREATEINFO %zu\n", sizeof(CUVIDDECODECREATEINFO));
    printf("CUVIDPROCPARAMS %zu\n", sizeof(CUVIDPROCPARAMS));
    printf("CUVIDGETDECODESTATUS %zu\n", sizeof(CUVIDGETDECODESTATUS));
    printf("CUVIDEOFORMAT %zu\n", sizeof(CUVIDEOFORMAT));
    printf("CUVIDPARSERDISPINFO %zu\n", sizeof(CUVIDPARSERDISPINFO));
    printf("CUVIDSOURCEDATAPACKET %zu\n", sizeof(CUVIDSOURCEDATAPACKET));
    printf("CUVIDPARSERPARAMS %zu\n", sizeof(CUVIDPARSERPARAMS));
    printf("offsets: createinfo.vidLock %zu, procparams.output_stream %zu, parserparams.pfnDisplayPicture %zu, videoformat.matrix %zu\n",
        offsetof(CUVIDDECODECREATEINFO, vidLock), offsetof(CUVIDPROCPARAMS, output_stream),
        offsetof(CUVIDPARSERPARAMS, pfnDisplayPicture), offsetof(CUVIDEOFORMAT, video_signal_description.matrix_coefficients));
    return 0;
}
