using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vigil.Cuda;

/// <summary>A loaded module (cubin/PTX image) and the kernels in it.</summary>
public sealed class CudaModule : IDisposable
{
    private readonly Dictionary<string, CudaKernel> _kernels = [];

    public CudaModule(CudaContext context, ReadOnlySpan<byte> image)
    {
        Context = context;
        context.MakeCurrent();
        Handle = new SafeCudaModuleHandle(context.Handle);
        Handle.SetHandleValue(Interop.Cuda.ModuleLoadData(image));
    }

    public CudaContext Context { get; }
    public SafeCudaModuleHandle Handle { get; }

    /// <summary>An <c>extern "C" __global__</c> function of the module.</summary>
    public CudaKernel GetKernel(string name)
    {
        lock (_kernels)
        {
            if (_kernels.TryGetValue(name, out var k)) return k;
            Context.MakeCurrent();
            k = new CudaKernel(this, name, Interop.Cuda.ModuleGetFunction(Handle.DangerousGetHandle(), name));
            _kernels[name] = k;
            return k;
        }
    }

    public void Dispose() => Handle.Dispose();
}

/// <summary>A kernel; valid while its module is loaded.</summary>
public sealed class CudaKernel
{
    private readonly nint _function;

    internal CudaKernel(CudaModule module, string name, nint function)
    {
        Module = module;
        Name = name;
        _function = function;
    }

    public CudaModule Module { get; }
    public string Name { get; }

    public unsafe void Launch(CudaStream stream, Dim3 grid, Dim3 block, KernelArgs args, uint sharedBytes = 0)
    {
        ObjectDisposedException.ThrowIf(Module.Handle.IsClosed, Module);
        stream.Context.MakeCurrent();
        Interop.Cuda.LaunchKernel(_function, grid, block, sharedBytes, stream.Pointer, args.Pointers);
    }
}

/// <summary>
/// Kernel parameters in the form cuLaunchKernel takes (an array of pointers to each value). Values are copied in;
/// reuse one instance per launch site with <see cref="Clear"/>.
/// </summary>
public sealed unsafe class KernelArgs : IDisposable
{
    private const int SlotBytes = 16;
    private readonly int _capacity;
    private byte* _values;
    private void** _pointers;

    public KernelArgs(int capacity = 32)
    {
        _capacity = capacity;
        _values = (byte*)NativeMemory.AlignedAlloc((nuint)(capacity * SlotBytes), 16);
        _pointers = (void**)NativeMemory.Alloc((nuint)(capacity * sizeof(void*)));
    }

    public int Count { get; private set; }
    internal void** Pointers => _pointers;

    /// <summary>Appends one parameter (up to 16 bytes; pass device pointers as <see cref="ulong"/>).</summary>
    public KernelArgs Add<T>(T value) where T : unmanaged
    {
        if (sizeof(T) > SlotBytes) throw new ArgumentException($"Kernel parameter of {sizeof(T)} bytes exceeds {SlotBytes}.");
        if (Count == _capacity) throw new InvalidOperationException($"More than {_capacity} kernel parameters.");
        byte* slot = _values + Count * SlotBytes;
        Unsafe.WriteUnaligned(slot, value);
        _pointers[Count++] = slot;
        return this;
    }

    public KernelArgs Clear()
    {
        Count = 0;
        return this;
    }

    public void Dispose()
    {
        if (_values != null) { NativeMemory.AlignedFree(_values); _values = null; }
        if (_pointers != null) { NativeMemory.Free(_pointers); _pointers = null; }
    }
}
