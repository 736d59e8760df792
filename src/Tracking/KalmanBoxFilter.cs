namespace Vigil.Tracking;

/// <summary>How a track's box is parameterised in the Kalman state and which noise levels apply.</summary>
public enum KalmanModel
{
    /// <summary>SORT (Bewley et al. 2016): centre x, centre y, area s, aspect ratio r = w/h; r has no velocity.
    /// Fixed noise: P0 = 10 (positions) / 1e4 (velocities), Q = 1 / 0.01 (s velocity 1e-4), R = 1, 1, 10, 10.</summary>
    Sort,
    /// <summary>ByteTrack / DeepSORT: centre x, centre y, aspect a = w/h, height h; noise proportional to the
    /// height (position 1/20, velocity 1/160 of h per frame).</summary>
    ByteTrack,
}

/// <summary>
/// Constant-velocity Kalman filter of a box (four measured coordinates, each with a velocity).
/// In both models F only couples a coordinate with its own velocity and P0, Q and R are diagonal, so the 8x8
/// covariance stays block diagonal: the filter is run as four independent 2-state filters, which is exactly
/// the matrix form (same numbers, a fraction of the work).
/// </summary>
public sealed class KalmanBoxFilter
{
    private const double WeightPosition = 1.0 / 20, WeightVelocity = 1.0 / 160;
    private readonly KalmanModel _model;
    private readonly double[] _x = new double[4], _v = new double[4];
    private readonly double[] _pxx = new double[4], _pxv = new double[4], _pvv = new double[4];

    public KalmanBoxFilter(KalmanModel model, in BoxF box)
    {
        _model = model;
        Span<double> z = stackalloc double[4];
        Measure(box, z);
        for (int k = 0; k < 4; k++) { _x[k] = z[k]; _v[k] = 0; _pxv[k] = 0; }
        if (model == KalmanModel.Sort)
        {
            for (int k = 0; k < 4; k++) { _pxx[k] = 10; _pvv[k] = 10_000; }
            _pvv[3] = 0; // the aspect ratio has no velocity in SORT's model
        }
        else
        {
            double h = z[3];
            double[] stdPos = [2 * WeightPosition * h, 2 * WeightPosition * h, 1e-2, 2 * WeightPosition * h];
            double[] stdVel = [10 * WeightVelocity * h, 10 * WeightVelocity * h, 1e-5, 10 * WeightVelocity * h];
            for (int k = 0; k < 4; k++) { _pxx[k] = stdPos[k] * stdPos[k]; _pvv[k] = stdVel[k] * stdVel[k]; }
        }
    }

    public KalmanModel Model => _model;

    /// <summary>State mean (4 coordinates then 4 velocities) for tests and diagnostics.</summary>
    public double[] Mean => [.. _x, .. _v];

    /// <summary>Variance of each measured coordinate (diagonal of the position block).</summary>
    public double[] PositionVariance => [.. _pxx];

    /// <summary>Current box estimate.</summary>
    public BoxF Box
    {
        get
        {
            double cx = _x[0], cy = _x[1], w, h;
            if (_model == KalmanModel.Sort)
            {
                double s = _x[2], r = _x[3];
                double sr = s * r;
                w = sr > 0 ? Math.Sqrt(sr) : 0;
                h = w > 0 ? s / w : 0;
            }
            else
            {
                h = _x[3];
                w = _x[2] * h;
            }
            return new BoxF((float)(cx - w / 2), (float)(cy - h / 2), (float)w, (float)h);
        }
    }

    /// <summary>Whether the state is usable (finite and with a positive size).</summary>
    public bool IsValid
    {
        get
        {
            for (int k = 0; k < 4; k++) if (!double.IsFinite(_x[k]) || !double.IsFinite(_v[k])) return false;
            var b = Box;
            return b.Width > 0 && b.Height > 0;
        }
    }

    /// <summary>Sets the velocity of the height / area coordinate to zero (ByteTrack does this for tracks that are
    /// not currently tracked, so a lost box does not keep growing or shrinking).</summary>
    public void FreezeSizeVelocity() => _v[_model == KalmanModel.Sort ? 2 : 3] = 0;

    /// <summary>Advances the state by one frame.</summary>
    public void Predict()
    {
        Span<double> qx = stackalloc double[4];
        Span<double> qv = stackalloc double[4];
        if (_model == KalmanModel.Sort)
        {
            if (_x[2] + _v[2] <= 0) _v[2] = 0; // SORT: never predict a non-positive area
            qx.Fill(1);
            qv[0] = 0.01; qv[1] = 0.01; qv[2] = 1e-4; qv[3] = 0;
        }
        else
        {
            double h = _x[3];
            double p = WeightPosition * h, v = WeightVelocity * h;
            qx[0] = p * p; qx[1] = p * p; qx[2] = 1e-4; qx[3] = p * p;
            qv[0] = v * v; qv[1] = v * v; qv[2] = 1e-10; qv[3] = v * v;
        }
        for (int k = 0; k < 4; k++)
        {
            _x[k] += _v[k];
            double pxx = _pxx[k] + 2 * _pxv[k] + _pvv[k];
            double pxv = _pxv[k] + _pvv[k];
            _pxx[k] = pxx + qx[k];
            _pxv[k] = pxv;
            _pvv[k] += qv[k];
        }
    }

    /// <summary>Corrects the state with a measured box.</summary>
    public void Update(in BoxF box)
    {
        Span<double> z = stackalloc double[4];
        Measure(box, z);
        Span<double> r = stackalloc double[4];
        if (_model == KalmanModel.Sort)
        {
            r[0] = 1; r[1] = 1; r[2] = 10; r[3] = 10;
        }
        else
        {
            double p = WeightPosition * _x[3];
            r[0] = p * p; r[1] = p * p; r[2] = 1e-2; r[3] = p * p;
        }
        for (int k = 0; k < 4; k++)
        {
            double s = _pxx[k] + r[k];
            double kx = _pxx[k] / s, kv = _pxv[k] / s;
            double y = z[k] - _x[k];
            _x[k] += kx * y;
            _v[k] += kv * y;
            double pxv = _pxv[k];
            _pvv[k] -= kv * pxv;
            _pxv[k] = (1 - kx) * pxv;
            _pxx[k] = (1 - kx) * _pxx[k];
        }
    }

    private void Measure(in BoxF b, Span<double> z)
    {
        double w = b.Width, h = b.Height;
        z[0] = b.X + w / 2;
        z[1] = b.Y + h / 2;
        if (_model == KalmanModel.Sort) { z[2] = w * h; z[3] = h > 0 ? w / h : 0; }
        else { z[2] = h > 0 ? w / h : 0; z[3] = h; }
    }
}
