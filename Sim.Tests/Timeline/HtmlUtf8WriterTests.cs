using System.Net;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sim.Timeline;
using Xunit;

namespace Sim.Tests.Timeline;

/// <summary>
/// The page's UTF-8 writer escapes text exactly as <see cref="WebUtility.HtmlEncode(string)"/> did when the page was
/// built from strings, formats numbers and durations as the invariant culture's <c>0.#</c> does, and survives
/// buffers larger than its flush size.
/// </summary>
public sealed class HtmlUtf8WriterTests
{
    private static string Written(Action<HtmlUtf8Writer> write)
    {
        using var ms = new MemoryStream();
        using (var w = new HtmlUtf8Writer(ms))
        {
            write(w);
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    // Strings over the characters the escaping treats differently: markup, Latin-1, BMP beyond, surrogates.
    private static Arbitrary<string> Texts() =>
        Gen.Elements('a', ' ', '<', '>', '&', '"', '\'', '\n', '\u009f', '\u00a0', 'µ', '\u00ff', '\u0100', '→', '…', '\ud83d', '\ude00', '\uffff')
            .ArrayOf().Select(cs => new string(cs)).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property Text_is_escaped_as_HtmlEncode_escapes_it() =>
        Prop.ForAll(Texts(), s => Written(w => w.Text(s.AsSpan())) == WebUtility.HtmlEncode(s));

    [Property(MaxTest = 300)]
    public Property Utf8_text_is_escaped_as_its_decoded_string() =>
        Prop.ForAll(Texts(), s =>
        {
            // Lone surrogates do not survive UTF-8; compare what the bytes decode to.
            byte[] utf8 = Encoding.UTF8.GetBytes(s);
            return Written(w => w.Text((ReadOnlySpan<byte>)utf8)) == WebUtility.HtmlEncode(Encoding.UTF8.GetString(utf8));
        });

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(190.0, "190")]
    [InlineData(1290.56, "1290.6")]
    [InlineData(0.04, "0")]
    [InlineData(-3.26, "-3.3")]
    [InlineData(24200.0, "24200")]
    public void Numbers_print_with_at_most_one_decimal(double v, string expected) =>
        Assert.Equal(expected, Written(w => w.Num(v)));

    [Theory]
    [InlineData(0L, "0 ns")]
    [InlineData(999L, "999 ns")]
    [InlineData(1_000L, "1 µs")]
    [InlineData(1_550L, "1.6 µs")]
    [InlineData(2_500_000L, "2.5 ms")]
    [InlineData(10_200_000_000L, "10.2 s")]
    public void Durations_pick_the_unit_by_magnitude(long ns, string expected)
    {
        Assert.Equal(expected, TimelineSummary.Duration(ns));
        Assert.Equal(WebUtility.HtmlEncode(expected), Written(w => w.Duration(ns)));
    }

    [Fact]
    public void Output_longer_than_the_flush_size_arrives_whole_and_in_order()
    {
        var expected = new StringBuilder();
        string text = Written(w =>
        {
            for (int k = 0; k < 20_000; k++)
            {
                w.Int(k).Raw(" <"u8).Text("a&b").Raw(">\n"u8);
            }
            w.Raw(new string('x', 100_000));
        });
        for (int k = 0; k < 20_000; k++)
        {
            expected.Append(k).Append(" <a&amp;b>\n");
        }
        expected.Append('x', 100_000);
        Assert.Equal(expected.ToString(), text);
    }
}
