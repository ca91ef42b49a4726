"""Narrative of the reports in Indonesian (``id``) and English (``en``).

The notebooks show ``text(key, lang)`` with ``display(Markdown(...))``, so each rendered report
holds only its reader's language. Keys are ``"<notebook>.<section>"`` (``"10.censoring"``).
Sentences that carry numbers are functions taking the numbers and ``lang``; the numbers always
come from the computation. ``note_text`` translates the fixed notes and reasons that the analysis
modules write in English; a note it does not know is shown as it is.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.texts.formatting import check_lang, format_idr, format_number

TEXTS: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------------ 00 data overview
    "00.title": {
        "id": "# Gambaran data\n\n"
              "Data apa adanya: penerapan WFA menurut registri kebijakan beserta dasar hukumnya, peta Pemda "
              "penerap, cakupan dan hasil validasi data, volume layanan, serta komposisi belanja.",
        "en": "# Data overview\n\n"
              "The data as they are: WFA adoptions from the policy registry with their legal instruments, a map "
              "of adopters, coverage and validation, service volumes and budget composition.",
    },
    "00.adoptions": {
        "id": "## Penerapan WFA\n\n"
              "Setiap baris adalah satu penerapan dalam registri kebijakan, beserta instrumen hukumnya. "
              "Uji coba ditandai dengan arsiran.",
        "en": "## WFA adoptions\n\n"
              "One row per adoption in the policy registry, with its legal instrument; trials are hatched.",
    },
    "00.coverage": {
        "id": "## Cakupan dan validasi\n\n"
              "Baris yang ditolak tidak dipakai dalam analisis mana pun; alasan penolakannya dicatat per kolom.",
        "en": "## Coverage and validation\n\n"
              "Rejected rows are left out of every analysis; the reasons are recorded per column.",
    },
    "00.volumes": {
        "id": "## Volume layanan\n\n"
              "Jumlah permohonan per jenis layanan dan tahun; jumlah di bawah 10 disembunyikan.",
        "en": "## Service volumes\n\n"
              "Requests per service type and year; counts below 10 are suppressed.",
    },
    "00.budget": {
        "id": "## Komposisi belanja\n\n"
              "Belanja rutin adalah pos yang dapat berubah karena WFA; pos plasebo seharusnya tidak berubah.",
        "en": "## Budget composition\n\n"
              "Routine accounts are those WFA may change; placebo accounts should not move.",
    },
    # ------------------------------------------------------------------ 10 service time
    "10.title": {
        "id": "# Waktu penyelesaian layanan publik dan WFA\n\n"
              "Apakah WFA bagi ASN Pemda membuat warga menunggu lebih lama untuk perizinan, dokumen kependudukan "
              "(adminduk) dan bantuan sosial? Data tingkat permohonan → panel Pemda × bulan × jenis layanan "
              "dengan median yang memperhitungkan sensor (Kaplan–Meier) → difference-in-differences bertahap "
              "(staggered), heterogenitas efek, dan model hazard tingkat permohonan.",
        "en": "# Public-service completion times under WFA\n\n"
              "Does work from anywhere (WFA) for Pemda civil servants make citizens wait longer for licences, "
              "population documents and social assistance? Request-level records → Pemda × month × service "
              "panels with censoring-aware (Kaplan–Meier) medians → staggered difference-in-differences, "
              "heterogeneity, and a request-level hazard model.",
    },
    "10.data": {
        "id": "## Data dan perlakuan\n\n"
              "Panel disusun di DuckDB dari tabel `service_requests`. Permohonan yang masih terbuka pada tanggal "
              "ekstraksi diperlakukan sebagai **tersensor**, bukan data hilang. Aturan perlakuan "
              "(`analysis.panels.treatment`): sebuah Pemda dianggap menerapkan WFA sejak bulan pertama WFA mencakup "
              "sekurang-kurangnya separuh hari kerja; jeda satu bulan di antara dua masa WFA dijembatani "
              "(Jawa Barat: uji coba November 2025, uji coba 50/50 Desember yang tidak tercatat di registri, "
              "kebijakan sejak Januari 2026 → kohort 2025-11); Pemda yang menghentikan WFA (Surakarta, "
              "14–28 Januari 2026) **dikeluarkan** dari penduga bertahap dan dicantumkan di bawah; Pemda yang "
              "sudah menerapkan WFA sebelum jendela analisis dimulai tidak memiliki periode pra-adopsi dan juga "
              "dikeluarkan.",
        "en": "## Data and treatment\n\n"
              "Panels are built in DuckDB from `service_requests`. A request still open at the extraction date "
              "is **censored**, not missing. Treatment rules (`analysis.panels.treatment`): a Pemda is treated from the "
              "first month in which WFA covers at least half the working days; gaps of one month between spells "
              "are bridged (Jawa Barat: November 2025 trial, December 50/50 trial not in the registry, policy "
              "from January 2026 → cohort 2025-11); Pemda whose WFA was switched off (Surakarta, 14–28 January "
              "2026) are **excluded** from the staggered estimators and listed below; Pemda treated before the "
              "window starts have no pre-period and are excluded too.",
    },
    "10.censoring": {
        "id": "## Sensor: mengapa permohonan yang masih terbuka penting\n\n"
              "Membuang permohonan yang masih terbuka saat ekstraksi hanya menyisakan permohonan yang cepat "
              "selesai pada bulan-bulan terakhir, sehingga waktu penyelesaian tampak lebih singkat.",
        "en": "## Censoring: why open requests matter\n\n"
              "Dropping requests still open at extraction keeps only the fast ones in recent months, so "
              "completion times look shorter than they are.",
    },
    "10.trends": {
        "id": "## Tren mentah dan studi peristiwa",
        "en": "## Raw trends and event studies",
    },
    "10.heterogeneity": {
        "id": "## Heterogenitas efek\n\n"
              "Setiap kelompok Pemda penerap dibandingkan dengan Pemda pembanding yang sama; uji kesamaan efek "
              "memakai fungsi pengaruh (influence function) gabungan tingkat Pemda (pembanding bersama "
              "diperhitungkan; bobot kelompok dianggap tetap). Perbandingan lintas unit kerja vs satu unit kerja "
              "membandingkan yang sejenis (sel tiap jenis dengan sel jenis yang sama).",
        "en": "## Heterogeneity\n\n"
              "Each group of adopting Pemda against the same comparison Pemda; the test of equal effects uses "
              "the joint Pemda-level influence functions (shared controls accounted for; group weights treated "
              "as fixed). Cross-unit vs single-unit compares like with like (cells of each kind against the "
              "same kind).",
    },
    "10.hazard": {
        "id": "## Model tingkat permohonan\n\n"
              "Model hazard proporsional eksponensial sepotong-sepotong (piecewise-exponential) untuk "
              "penyelesaian setiap permohonan (tersensor pada tanggal ekstraksi), dengan efek tetap Pemda × "
              "layanan, layanan × selang hari, dan bulan; galat baku diklaster per Pemda.",
        "en": "## Request-level model\n\n"
              "Piecewise-exponential proportional-hazards model of completion on every request (censored at "
              "extraction), with Pemda × service, service × day-bin and month effects; SEs clustered by Pemda.",
    },
    "10.conclusion": {"id": "## Kesimpulan", "en": "## Conclusion"},
    "10.caption.adopters": {"id": "Pemda penerap WFA dan perlakuannya", "en": "WFA-adopting Pemda and how they are treated"},
    "10.caption.timeline": {"id": "Lini masa penerapan WFA", "en": "WFA adoption timeline"},
    "10.caption.naive_km": {"id": "Median naif (hanya permohonan selesai) vs Kaplan–Meier",
                            "en": "Naive completed-only vs Kaplan–Meier medians"},
    "10.caption.naive_table": {
        "id": "Efek WFA: naif vs dengan memperhitungkan sensor (nilai sebenarnya = hasil simulasi, hanya data sintetis)",
        "en": "WFA effect: naive vs censoring-aware (truth = simulated, synthetic data only)"},
    "10.caption.trends": {"id": "Tren mentah", "en": "Raw trends"},
    "10.caption.event_study": {"id": "Studi peristiwa: empat penduga", "en": "Event study: four estimators"},
    "10.caption.overall": {"id": "ATT keseluruhan per penduga", "en": "Overall ATT by estimator"},
    "10.caption.groups": {"id": "Efek menurut kelompok", "en": "Effect by group"},
    "10.caption.group_tests": {"id": "Uji kesamaan efek antarkelompok", "en": "Tests of equal effects"},
    "10.caption.km": {"id": "Kurva Kaplan–Meier", "en": "Kaplan–Meier curves"},
    "10.alt.timeline": {
        "id": "Setiap baris adalah satu Pemda penerap; bulan yang diarsir adalah bulan dengan WFA berlaku.",
        "en": "Each row is an adopting Pemda; shaded months have WFA in force."},
    "10.alt.naive_km": {
        "id": "Rata-rata median hari per sel menurut bulan; pada bulan-bulan terakhir garis permohonan selesai "
              "berada di bawah garis Kaplan–Meier.",
        "en": "Mean cell median days by month; the completed-only line falls below the Kaplan–Meier line in the "
              "latest months."},
    "10.alt.trends": {
        "id": "Rata-rata variabel hasil per bulan untuk Pemda penerap dan Pemda pembanding.",
        "en": "Mean outcome by month for adopting and comparison Pemda."},
    "10.alt.event_study": {
        "id": "Efek menurut bulan sejak adopsi untuk Callaway–Sant'Anna, Sun–Abraham, imputasi dan TWFE, "
              "dengan IK 95%.",
        "en": "Effect by months since adoption for Callaway–Sant'Anna, Sun–Abraham, imputation and TWFE with "
              "95% intervals."},
    "10.alt.groups": {
        "id": "ATT pada log median hari dengan IK 95% menurut kelompok indeks SPBE, e-Kinerja, unit kerja yang "
              "terlibat, dan hari WFA per minggu.",
        "en": "ATT on log median days with 95% intervals for SPBE band, e-Kinerja, units involved and WFA days "
              "per week."},
    "10.alt.km": {
        "id": "Bagian permohonan yang belum selesai menurut hari sejak pengajuan, sebelum dan sesudah, Pemda "
              "penerap vs Pemda pembanding.",
        "en": "Share of requests still open by days since submission, before and after, adopters vs comparison "
              "Pemda."},
    "10.method.km": {"id": "Kaplan–Meier", "en": "Kaplan–Meier"},
    "10.method.naive": {"id": "hanya permohonan selesai", "en": "completed only"},
    # ------------------------------------------------------------------ 20 budget savings
    "20.title": {
        "id": "# Berapa penghematan belanja Pemda karena WFA?\n\n"
              "Pertanyaan: seberapa besar WFA bagi ASN daerah menurunkan belanja operasional kantor (listrik, "
              "air, telepon/internet, ATK, BBM, perjalanan dinas), dalam Rupiah, setelah dipisahkan dari "
              "pemotongan transfer ke daerah (TKD) 2026, yang menekan belanja pada bulan-bulan yang sama dan "
              "menjadi salah satu alasan Pemda menerapkan WFA?\n\n"
              "Metode singkat: panel Pemda × periode berisi belanja realisasi per kategori (Rupiah riil), penduga "
              "difference-in-differences bertahap Callaway–Sant'Anna pada log belanja, dengan dan tanpa "
              "pengondisian pada besarnya pemotongan TKD 2026 tiap Pemda, lalu penghematan belanja dalam Rupiah "
              "(kontrafaktual − aktual) beserta IK 95%, proyeksi, dan uji plasebo.",
        "en": "# How much money does WFA save a Pemda?\n\n"
              "Question: by how much does work-from-anywhere (WFA) for local civil servants lower routine office "
              "spending (electricity, water, phone/internet, office supplies, fuel, official travel), in Rupiah, "
              "once the 2026 cut in central transfers (TKD), which pushed spending down in the same months and "
              "was one reason Pemda adopted WFA, is separated out?\n\n"
              "Method in brief: a Pemda × period panel of realised spending per category (real Rupiah), the "
              "Callaway–Sant'Anna staggered difference-in-differences estimator on log spending, with and without "
              "conditioning on the size of each Pemda's 2026 TKD cut, then savings in Rupiah "
              "(counterfactual − actual) with confidence intervals, a projection, and a placebo check.",
    },
    "20.data": {
        "id": "## Data, frekuensi dan estimasi\n\n"
              "Tabel `budget` memuat belanja realisasi per Pemda, bulan dan akun; akun dijumlahkan menjadi "
              "kategori, dideflasi ke Rupiah harga tahun `price_base_year` dengan seri IHK BPS yang disertakan "
              "(`analysis/data/cpi_indonesia.csv`), lalu dijumlahkan per triwulan.\n\n"
              "**Mengapa triwulanan secara bawaan.** Realisasi APBD menumpuk di akhir tahun dan jumlah bulanan "
              "tidak rata (tagihan dibayar terlambat, beberapa bulan dibukukan sekaligus). Menjumlahkan tiga "
              "bulan menghilangkan sebagian besar gangguan itu; konsekuensinya, periode pasca-adopsi lebih "
              "sedikit dan triwulan pertama hanya sebagian terpapar bagi Pemda yang mulai WFA di tengah triwulan "
              "(efek triwulan pertamanya terencerkan; nilai sebenarnya dalam pengujian dihitung dengan cara yang "
              "sama). Pilihan `frequency=\"month\"` tersedia.\n\n"
              "**Sampel.** Difference-in-differences bertahap mensyaratkan perlakuan tetap berlaku setelah "
              "dimulai: Pemda yang menghentikan WFA (uji coba satu bulan) dan Pemda yang sudah menerapkan WFA "
              "pada periode pertama dikeluarkan (tercantum di bawah). Kohort dan jumlah hari WFA berasal dari "
              "registri kebijakan melalui `analysis.panels.treatment.assign_treatment`.\n\n"
              "Sel berikut memuat data dan menjalankan semua estimasi (semua kategori, dengan dan tanpa "
              "penyesuaian TKD, penghematan, proyeksi); sel-sel sesudahnya hanya menampilkan bagian dari hasil.",
        "en": "## Data, frequency and estimation\n\n"
              "The `budget` table gives realised spending per Pemda, month and account; accounts are summed into "
              "categories, deflated to Rupiah of `price_base_year` with the bundled BPS CPI series "
              "(`analysis/data/cpi_indonesia.csv`), and summed to quarters.\n\n"
              "**Why quarters by default.** APBD realisation is back-loaded to the year end and monthly amounts "
              "are lumpy (bills paid late, several months booked at once). Summing three months removes much of "
              "that noise; the price is fewer post-adoption periods and a first quarter that is only partly "
              "treated for Pemda adopting mid-quarter (their first-quarter effect is diluted; the truth used in "
              "the tests is computed the same way). `frequency=\"month\"` is available.\n\n"
              "**Sample.** Staggered DiD needs treatment to stay on once it starts: Pemda whose WFA was switched "
              "off (a one-month trial) and Pemda already treated in the first period are left out (listed below). "
              "Cohorts and WFA days come from the policy registry via `analysis.panels.treatment.assign_treatment`.\n\n"
              "The next cell loads the data and runs every estimate (all categories, with and without the TKD "
              "adjustment, savings, projection); the cells after it only show parts of the result.",
    },
    "20.not_estimated": {
        "id": "Pemda penerap yang kohortnya tidak dapat diestimasi (dengan kovariat, kohort yang hanya berisi "
              "satu Pemda tidak memiliki skor kecenderungan; biasanya penerap awal 2025) tidak termasuk dalam "
              "estimasi maupun penghematan di bawah:",
        "en": "Adopters whose cohort the estimator could not estimate (with covariates, a cohort of a single Pemda "
              "has no propensity score; these are usually the early 2025 adopters) are not in the estimates nor "
              "in the savings below:",
    },
    "20.trends": {
        "id": "## Tren\n\n"
              "Rata-rata log belanja riil Pemda penerap dan Pemda pembanding, setelah dikurangi rata-rata "
              "masing-masing Pemda. Garis titik-titik menandai periode adopsi pertama. Penurunan belanja semua "
              "Pemda pada awal 2026 disebabkan pemotongan TKD, bukan WFA.",
        "en": "## Trends\n\n"
              "Mean log real spending of adopters and of the comparison Pemda, each Pemda's own mean removed. "
              "The dotted line marks the first adoption period. The drop of every Pemda at the start of 2026 is "
              "the TKD cut, not WFA.",
    },
    "20.event_study": {
        "id": "## Studi peristiwa dengan beberapa penduga\n\n"
              "Callaway–Sant'Anna (dengan dan tanpa penyesuaian TKD) berdampingan dengan Sun–Abraham dan penduga "
              "imputasi Borusyak–Jaravel–Spiess (keduanya mendapat paparan pemotongan, porsi pemotongan × "
              "[sejak Januari 2026], sebagai regresor bila `adjust_for_tkd`). Estimasi sebelum 0 menguji asumsi "
              "tren paralel; periode yang jauh dari adopsi hanya bertumpu pada satu atau dua penerap awal dan "
              "tidak ditampilkan. Pada data sintetis, garis putus-putus merah adalah efek rata-rata yang "
              "sebenarnya.",
        "en": "## Event study, several estimators\n\n"
              "Callaway–Sant'Anna (with and without the TKD adjustment) next to Sun–Abraham and the "
              "Borusyak–Jaravel–Spiess imputation estimator (these two get the cut's exposure, cut share × "
              "[from January 2026], as a regressor when `adjust_for_tkd`). Estimates before 0 test parallel "
              "trends; far event times rest on one or two early adopters and are not shown. On synthetic data "
              "the red dashed line is the true mean effect.",
    },
    "20.adjusted": {
        "id": "## Dengan dan tanpa penyesuaian\n\n"
              "Pemda penerap mengalami pemotongan TKD yang lebih besar daripada Pemda lain, dan pemotongan itu "
              "menurunkan belanja sejak Januari 2026. Tanpa pengondisian padanya, CS menghitung sebagian efek "
              "pemotongan sebagai efek WFA (terutama untuk kohort yang periode pembandingnya jatuh sebelum "
              "pemotongan). Dengan penyesuaian, setiap penerap dibandingkan dengan Pemda yang transfernya turun "
              "dengan porsi serupa (doubly robust, kovariat ditetapkan sebelum adopsi). Estimasi dalam log poin: "
              "−0,05 ≈ −5%. `pretrend_pvalue` adalah uji Wald bahwa semua ATT(g,t) sebelum adopsi sama dengan "
              "nol: tanpa penyesuaian, pemotongan TKD muncul sebagai tren pra-adopsi pada kohort yang lebih "
              "akhir (periode pra-adopsinya mencakup Januari 2026).",
        "en": "## Adjusted versus unadjusted\n\n"
              "Adopters had larger TKD cuts than other Pemda, and the cut lowers spending from January 2026. "
              "Without conditioning on it, CS credits part of the cut to WFA (mainly for cohorts whose "
              "comparison period lies before the cut). With the adjustment, each adopter is compared with Pemda "
              "whose transfers fell by a similar share (doubly robust, covariates fixed before adoption). "
              "Estimates are in log points: −0.05 ≈ −5%. `pretrend_pvalue` is the Wald test that all "
              "pre-adoption ATT(g,t) are zero: without the adjustment the cut shows up as a pre-trend of the "
              "later cohorts (their pre-period spans January 2026).",
    },
    "20.savings": {
        "id": "## Penghematan dalam Rupiah\n\n"
              "Untuk setiap penerap dan periode pasca-adopsi, belanja kontrafaktual = aktual × exp(−ATT_e), "
              "dengan ATT_e efek kategori pada `e` periode sejak adopsi (dirata-ratakan antarkohort); "
              "penghematan = kontrafaktual − aktual (positif = uang yang dihemat), dijumlahkan per kategori, "
              "per Pemda, dan secara total. Total adalah jumlah enam kategori belanja rutin. IK 95%: multiplier "
              "bootstrap pada fungsi pengaruh ATT_e (satu bobot per Pemda yang sama untuk semua kategori, "
              "sehingga total mempertahankan korelasi antarkategori); belanja realisasi dianggap diketahui.",
        "en": "## Savings in Rupiah\n\n"
              "For each adopter and post-adoption period, counterfactual spending = actual × exp(−ATT_e), with "
              "ATT_e the category's effect at `e` periods since adoption (averaged over cohorts); savings = "
              "counterfactual − actual (positive = money saved), summed by category, by Pemda and in total. The "
              "total is the sum of the six routine categories. Confidence intervals: multiplier bootstrap on the "
              "influence functions of the ATT_e (one weight per Pemda shared by all categories, so the total "
              "keeps the correlation between categories); realised spending is taken as known.",
    },
    "20.per_pemda": {
        "id": "### Per Pemda: penerap dalam registri kebijakan\n\n"
              "Penghematan per Pemda selama periode pasca-adopsi yang teramati, per penduduk dan (bila tabel "
              "wilayah memuat `asn_count`) per ASN. IK tingkat Pemda lebar: bulan-bulan satu Pemda hanya membawa "
              "sedikit informasi.",
        "en": "### Per Pemda: the adopters in the policy registry\n\n"
              "Savings per Pemda over its observed post-adoption periods, per resident and (where the regions "
              "table has `asn_count`) per civil servant. Pemda-level intervals are wide: one Pemda's months carry "
              "little information.",
    },
    "20.truth": {
        "id": "Pada data sintetis, penghematan sebenarnya atas sel-sel yang sama dengan yang dijumlahkan di atas "
              "(dari hasil potensial simulasi) dicatat sebagai pembanding:",
        "en": "On synthetic data, the true savings over exactly the cells summed above (from the simulation's "
              "potential outcomes) are recorded for comparison:",
    },
    "20.projection": {
        "id": "## Proyeksi\n\n"
              "Berapa penghematan per tahun bila setiap Pemda dalam data (atau, dengan `projection_province`, "
              "satu pemerintah provinsi beserta kabupaten/kotanya) menerapkan WFA `projection_days_per_week` hari "
              "per minggu? Asumsi: (1) efek linear terhadap jumlah hari WFA dalam log poin (efek per hari = ATT / "
              "rata-rata hari WFA pada periode perlakuan para penerap); (2) efek para penerap berlaku untuk "
              "setiap Pemda (penerap memilih WFA; Pemda lain mungkin berhemat lebih sedikit); (3) belanja tanpa "
              "WFA = belanja riil tahun `price_base_year`; (4) hanya enam kategori belanja rutin yang berubah. "
              "IK hanya mencerminkan ketidakpastian ATT. Jumlah hari di luar yang teramati merupakan ekstrapolasi "
              "(ditandai).",
        "en": "## Projection\n\n"
              "What would every Pemda in the data (or, with `projection_province`, one province government and "
              "its kabupaten/kota) save per year with `projection_days_per_week` WFA days? Assumptions: (1) the "
              "effect is linear in WFA days in log points (effect per day = ATT / mean WFA days of the adopters' "
              "treated periods); (2) the adopters' effect applies to every Pemda (adopters chose WFA; others may "
              "save less); (3) spending without WFA = real spending of `price_base_year`; (4) only the six "
              "routine categories change. The interval reflects only the uncertainty of the ATTs. A number of "
              "days outside those observed is an extrapolation (flagged).",
    },
    "20.placebo": {
        "id": "## Uji plasebo\n\n"
              "Penerangan jalan umum (PJU) dan pemeliharaan tetap dibayar terlepas dari ada atau tidaknya ASN di "
              "kantor: efek yang terestimasi pada pos ini menunjukkan bias dalam desain, bukan efek WFA.",
        "en": "## Placebo\n\n"
              "Street lighting (PJU) and maintenance are paid whether or not civil servants are in the office: "
              "an estimated effect there would point to a bias in the design rather than to WFA.",
    },
    "20.conclusion": {
        "id": "## Kesimpulan\n\nDisusun dari angka-angka di atas oleh `analysis.analyses.budget_savings.conclusion_text`.",
        "en": "## Conclusion\n\nBuilt from the numbers above by `analysis.analyses.budget_savings.conclusion_text`.",
    },
    # ------------------------------------------------------------------ 30 case study
    "30.title": {
        "id": "# Studi kasus satu Pemda penerap\n\n"
              "Kontrol sintetis (Abadie, Diamond dan Hainmueller 2010; bobot hanya dari variabel hasil, dengan "
              "kuadrat terkecil berkendala yang eksak) dan synthetic difference-in-differences (Arkhangelsky "
              "dkk. 2021, algoritma synthdid) untuk satu Pemda yang menerapkan WFA dengan waktunya sendiri. "
              "Kedua metode diuji dalam `tests/test_synth.py` terhadap angka terbitan kasus California "
              "Proposition 99 (SDID −15,60383, SC −19,61966, DID −27,34911, galat baku plasebo).",
        "en": "# Case study of a single adopter\n\n"
              "Synthetic control (Abadie, Diamond and Hainmueller 2010; outcome-only weights by exact constrained "
              "least squares) and synthetic difference-in-differences (Arkhangelsky et al. 2021, the synthdid "
              "algorithm) for one Pemda that adopted WFA on its own timing. Both methods are checked in "
              "`tests/test_synth.py` against the published California Proposition 99 numbers (SDID −15.60383, "
              "SC −19.61966, DID −27.34911, placebo SEs).",
    },
    "30.donors": {
        "id": "## Data dan kumpulan donor\n\n"
              "Variabel hasil adalah satu nilai per Pemda per bulan. Donor adalah Pemda yang tidak pernah "
              "menerapkan WFA selama jendela data, pada tingkat yang sama dengan Pemda penerap (provinsi untuk "
              "provinsi, kabupaten/kota untuk kabupaten atau kota). Donor dengan bulan yang datanya hilang "
              "dikeluarkan. Bila WFA berakhir lebih awal (uji coba), periode pasca-adopsi berhenti pada bulan "
              "terakhir WFA berlaku.",
        "en": "## Data and donor pool\n\n"
              "The outcome is one value per Pemda and month. The donors are Pemda that never adopted WFA in the "
              "data window, at the same level as the adopter (provinces for a province, kabupaten/kota for a "
              "kabupaten or kota). Donors with a missing month are dropped. If WFA ended early (a trial), the "
              "post period stops at the last month with WFA in force.",
    },
    "30.path": {
        "id": "## Aktual vs sintetis\n\n"
              "Sebelum adopsi, seri sintetis seharusnya mengikuti seri aktual dengan dekat (RMSPE pra-adopsi "
              "kecil); selisih sesudah adopsi adalah estimasi efeknya. Garis SDID digeser sebesar selisih "
              "pra-adopsinya yang berbobot waktu (SDID mengizinkan perbedaan level).",
        "en": "## Actual vs synthetic\n\n"
              "Before adoption the synthetic series should track the actual one closely (small pre-period "
              "RMSPE); the gap after adoption is the estimated effect. The SDID line is shifted by its "
              "time-weighted pre-period difference (SDID allows a level difference).",
    },
    "30.placebo": {
        "id": "## Uji plasebo\n\n"
              "Setiap donor secara bergiliran diperlakukan seolah-olah menerapkan WFA. Bila rasio kecocokan "
              "pasca/pra Pemda penerap tergolong tidak biasa di antara mereka, efeknya kecil kemungkinan terjadi "
              "karena kebetulan. Galat baku SDID berasal dari gagasan yang sama (galat baku plasebo, Arkhangelsky "
              "dkk. 2021, Algoritma 4).",
        "en": "## Placebo test\n\n"
              "Each donor is treated in turn as if it had adopted WFA. If the adopter's post/pre fit ratio is "
              "unusual among them, the effect is unlikely to be chance. The SDID standard error comes from the "
              "same idea (placebo SE, Arkhangelsky et al. 2021, Algorithm 4).",
    },
    "30.conclusion": {"id": "## Kesimpulan", "en": "## Conclusion"},
}


def text(key: str, lang: str) -> str:
    """The narrative text ``key`` in ``lang`` (Markdown)."""
    check_lang(lang)
    try:
        return TEXTS[key][lang]
    except KeyError:
        raise KeyError(f"no narrative text {key!r}; known: {', '.join(sorted(TEXTS))}") from None


def _pct_word(lang: str) -> str:
    return "IK 95%" if lang == "id" else "95% CI"


# --------------------------------------------------------------------------- notes written by the modules
#: (pattern, Indonesian template) for the fixed English notes of ``analysis.panels.treatment``,
#: ``analysis.analyses.service_time``, ``analysis.panels.budget`` and ``analysis.durations``.
_NOTE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"WFA ended after (\S+)", "WFA berakhir setelah {0}"),
    (r"excluded from staggered estimators", "dikeluarkan dari penduga bertahap"),
    (r"kept as treated \(absorbing\)", "tetap dihitung sebagai penerap (perlakuan menetap)"),
    (r"gap (.+) bridged \(rule 2\)", "jeda {0} dijembatani (aturan 2)"),
    (r"no pre-period in the window", "tidak ada periode pra-adopsi dalam jendela analisis"),
    (r"adopted (\S+), in the first panel period", "menerapkan WFA sejak {0}, periode pertama panel"),
    (r"switched_off: (.+)", "WFA dihentikan: {0}"),
    (r"already_treated: (.+)", "sudah menerapkan WFA sejak awal: {0}"),
    (r"sparse SPBE bands merged: (.+)", "kelompok indeks SPBE yang anggotanya sedikit digabung: {0}"),
    (r"3 or more WFA days per week pooled as 3", "3 hari WFA per minggu atau lebih digabung sebagai 3"),
    (r"regions has no spbe_index: the SPBE split is skipped",
     "tabel wilayah tidak memuat `spbe_index`: pembagian menurut SPBE dilewati"),
    (r"regions has no ekinerja_daily: the e-Kinerja split is skipped",
     "tabel wilayah tidak memuat `ekinerja_daily`: pembagian menurut e-Kinerja dilewati"),
    (r"dataset\.json has no extracted_at: the latest timestamp in the data is used",
     "`dataset.json` tidak memuat `extracted_at`: stempel waktu terakhir dalam data yang dipakai"),
    (r"piecewise-exponential PH \(Poisson on ([\d,]+) person-period cells, (\d+) day bins\)",
     "Model PH eksponensial sepotong-sepotong (Poisson pada {0} sel permohonan × selang hari, {1} selang hari)"),
)

#: Treatment statuses of ``analysis.panels.treatment`` in words.
STATUSES = {
    "never": {"id": "tidak pernah menerapkan", "en": "never adopted"},
    "adopter": {"id": "penerap", "en": "adopter"},
    "switched_off": {"id": "WFA dihentikan", "en": "WFA switched off"},
    "already_treated": {"id": "sudah menerapkan sejak awal", "en": "already treated at the start"},
}


def status_text(status: str, lang: str) -> str:
    """A treatment status code in words; an unknown code is returned as it is."""
    check_lang(lang)
    return STATUSES[status][lang] if status in STATUSES else status


def note_text(note: str, lang: str) -> str:
    """A note or reason written in English by the analysis modules, in ``lang``.

    Notes joined by ``"; "`` are translated part by part; a part without a known pattern is kept as
    it is (better an English note than none)."""
    check_lang(lang)
    if lang == "en" or not isinstance(note, str) or not note:
        return note
    for pattern, template in _NOTE_PATTERNS:
        match = re.fullmatch(pattern, note)
        if match:
            groups = [g.replace(",", ".") if re.fullmatch(r"[\d,]+", g) else note_text(g, lang)
                      for g in match.groups()]
            return template.format(*groups)
    if "; " in note:
        return "; ".join(note_text(part, lang) for part in note.split("; "))
    return note


def note_markdown(note: str, lang: str) -> str:
    """``*Catatan:* ...`` / ``*Note:* ...`` for a module's note."""
    return f"*{'Catatan' if lang == 'id' else 'Note'}:* {note_text(note, lang)}"


def failure_markdown(name: str, error: str, lang: str) -> str:
    """One line saying that an estimator failed, with its error message."""
    check_lang(lang)
    return f"*{name} gagal:* {error}" if lang == "id" else f"*{name} failed:* {error}"


# --------------------------------------------------------------------------- 10 service time
def window_markdown(window: tuple[str, str], n_units: int, n_dropped: int, lang: str) -> str:
    """The estimation window and how many Pemda × service units are kept and dropped."""
    check_lang(lang)
    if lang == "id":
        return (f"Jendela analisis {window[0]}–{window[1]} (bulan terakhir dengan ≥95% sel teridentifikasi); "
                f"{format_number(n_units, lang)} unit Pemda × layanan dipakai, {format_number(n_dropped, lang)} "
                "dikeluarkan karena ada bulan yang hilang.")
    return (f"Window {window[0]}–{window[1]} (last month with ≥95% of cells identified); "
            f"{format_number(n_units, lang)} Pemda × service units kept, {format_number(n_dropped, lang)} dropped "
            "for a missing month.")


def hazard_markdown(hazard_ratio: float, ci_low: float, ci_high: float, n_requests: int, n_treated_pemda: int,
                    n_control_pemda: int, model: str, lang: str) -> str:
    """The request-level hazard ratio with its interval and sample (below 1: slower completion)."""
    check_lang(lang)
    hr, lo, hi = (format_number(v, lang, 3) for v in (hazard_ratio, ci_low, ci_high))
    n = format_number(n_requests, lang)
    if lang == "id":
        return (f"**Rasio hazard penyelesaian di bawah WFA:** {hr} (IK 95% {lo}–{hi}; di bawah 1 berarti "
                f"penyelesaian lebih lambat); {n} permohonan, {n_treated_pemda} Pemda penerap dan {n_control_pemda} "
                f"Pemda pembanding. {note_text(model, lang)}.")
    return (f"**Hazard ratio of completion under WFA:** {hr} (95% CI {lo}–{hi}; below 1 means slower completion); "
            f"{n} requests, {n_treated_pemda} adopting and {n_control_pemda} comparison Pemda. {model[:1].upper() + model[1:]}.")


# --------------------------------------------------------------------------- 20 budget savings
def excluded_markdown(excluded: pd.DataFrame, lang: str) -> str:
    """The Pemda left out of the staggered sample (``region_code``, ``reason``) as a list."""
    check_lang(lang)
    if excluded is None or excluded.empty:
        return ("Tidak ada Pemda penerap yang dikeluarkan dari sampel." if lang == "id"
                else "No adopter is left out of the sample.")
    head = "Pemda yang dikeluarkan dari sampel:" if lang == "id" else "Pemda left out of the sample:"
    rows = [f"- {row.region_code}: {note_text(row.reason, lang)}" for row in excluded.itertuples(index=False)]
    return "\n".join([head, "", *rows])


def not_estimated_markdown(not_estimated: dict, lang: str, category_label=None) -> str:
    """Adopters whose cohort could not be estimated, per category (``{category: codes}``)."""
    check_lang(lang)
    if not not_estimated:
        return ("Semua kohort penerap dapat diestimasi." if lang == "id"
                else "Every adopter's cohort could be estimated.")
    name = category_label or (lambda c, _lang: c)
    rows = [f"- {name(category, lang)}: {', '.join(map(str, codes))}" for category, codes in not_estimated.items()]
    return "\n".join(rows)


def truth_savings_markdown(truth: dict, lang: str, category_label=None) -> str:
    """The simulation's true savings (synthetic data only): over the estimated cells, over every
    treated month, and per category (``category_label(code, lang)`` names the categories)."""
    check_lang(lang)
    total = truth.get("savings_idr_total") if truth else None
    cells = truth.get("savings_idr_over_estimated_cells") if truth else None
    if total is None and cells is None:
        return ("Tidak ada nilai sebenarnya (bukan data sintetis)." if lang == "id"
                else "No true values (not synthetic data).")
    if lang == "id":
        lines = [f"- Penghematan sebenarnya atas sel yang diestimasi: **{format_idr(cells, lang)}**",
                 f"- Penghematan sebenarnya atas semua bulan perlakuan: {format_idr(total, lang)}"]
    else:
        lines = [f"- True savings over the estimated cells: **{format_idr(cells, lang)}**",
                 f"- True savings over every treated month: {format_idr(total, lang)}"]
    by_category = truth.get("savings_idr_by_category") or {}
    if by_category:
        name = category_label or (lambda c, _lang: c)
        parts = ", ".join(f"{name(c, lang)} {format_idr(v, lang)}" for c, v in by_category.items())
        lines.append(f"- {'Per kategori, atas semua bulan perlakuan' if lang == 'id' else 'By category, every treated month'}: "
                     f"{parts}")
    return "\n".join(lines)


def projection_markdown(n_pemda: int, days_per_week: float, observed_doses, extrapolated: bool,
                        province: str, lang: str) -> str:
    """Scope and dose of the projection, and whether the dose is an extrapolation."""
    check_lang(lang)
    days = format_number(days_per_week, lang, 0 if float(days_per_week).is_integer() else 1)
    doses = ", ".join(format_number(d, lang, 0 if float(d).is_integer() else 1) for d in observed_doses)
    if lang == "id":
        scope = f"provinsi {province} beserta kabupaten/kotanya" if province else "semua Pemda dalam data"
        flag = ("**Ekstrapolasi:** jumlah hari ini berada di luar yang teramati." if extrapolated
                else "Jumlah hari ini berada dalam rentang yang teramati.")
        return (f"Cakupan proyeksi: {scope} ({format_number(n_pemda, lang)} Pemda), {days} hari WFA per minggu. "
                f"Jumlah hari WFA per minggu yang teramati pada penerap: {doses}. {flag}")
    scope = f"province {province} and its kabupaten/kota" if province else "every Pemda in the data"
    flag = ("**Extrapolation:** this number of days lies outside those observed." if extrapolated
            else "This number of days lies within those observed.")
    return (f"Projection scope: {scope} ({format_number(n_pemda, lang)} Pemda), {days} WFA days per week. "
            f"WFA days per week observed among the adopters: {doses}. {flag}")


# --------------------------------------------------------------------------- 30 case study
def case_header_markdown(region_name: str, level: str, start: str, last_post: str, status: str, n_donors: int,
                         pool_rule: str, n_dropped: int, lang: str) -> str:
    """The case-study adopter, its WFA period, and the donor pool."""
    check_lang(lang)
    if lang == "id":
        rule = {"never-adopting provinces": "provinsi yang tidak pernah menerapkan WFA",
                "never-adopting kabupaten and kota": "kabupaten dan kota yang tidak pernah menerapkan WFA"}.get(
                    pool_rule, pool_rule)
        return (f"**{region_name}** ({level}); WFA {start}–{last_post} ({status_text(status, lang)}); "
                f"{n_donors} donor ({rule}), "
                f"{n_dropped} dikeluarkan.")
    return (f"**{region_name}** ({level}); WFA {start}–{last_post} ({status}); {n_donors} donors ({pool_rule}), "
            f"{n_dropped} dropped.")
