/// Why a link leads nowhere now, in the onboarding page's languages (`PageLanguage`): the
/// person who opens an expired, finished or withdrawn link reads it in the language the page
/// itself would have spoken. `{brand}` and `{tenant}` are filled in (escaped) when drawn.
enum ClosedPage: Sendable {
    case expired, completed, awaitingNumber, exchanging, withdrawn, notFinished, replaced, missing

    /// The title and the line under it.
    func text(_ language: PageLanguage) -> (title: String, detail: String) {
        let all = ClosedPage.texts[language] ?? ClosedPage.texts[.english]!
        return all[self] ?? ClosedPage.texts[.english]![self]!
    }

    private static let texts: [PageLanguage: [ClosedPage: (String, String)]] = [
        .english: [
            .expired: ("This link has expired", "Onboarding links work for a limited time. Ask {brand} for a new one."),
            .completed: ("{tenant} is connected", "This link has done its job: the WhatsApp number is connected to {brand}. There is nothing more to do here."),
            .awaitingNumber: ("{tenant} is almost connected", "The WhatsApp Business account is connected to {brand}; its phone number follows as soon as Meta shows it verified. There is nothing more to do here."),
            .exchanging: ("Your number is being connected", "This takes a moment; you can close this page. {brand} will confirm when it is done."),
            .withdrawn: ("This link was withdrawn", "{brand} withdrew this link. Ask {brand} for a new one if you still want to connect."),
            .notFinished: ("This sign-up did not finish", "Each onboarding link works once. Ask {brand} for a new link to try again."),
            .replaced: ("This link was replaced by a newer one", "Use the most recent link you were sent, or ask for a new one."),
            .missing: ("This link does not exist", "Check that the whole link was copied, or ask for a new one."),
        ],
        .portugueseBrazil: [
            .expired: ("Este link expirou", "Os links de cadastro funcionam por tempo limitado. Peça um novo a {brand}."),
            .completed: ("{tenant} está conectado", "Este link já cumpriu a sua função: o número do WhatsApp está conectado a {brand}. Não há mais nada a fazer aqui."),
            .awaitingNumber: ("{tenant} está quase conectado", "A conta do WhatsApp Business está conectada a {brand}; o número de telefone será conectado assim que a Meta o mostrar como verificado. Não há mais nada a fazer aqui."),
            .exchanging: ("Seu número está sendo conectado", "Isso leva um momento; você pode fechar esta página. {brand} vai confirmar quando terminar."),
            .withdrawn: ("Este link foi retirado", "{brand} retirou este link. Peça um novo a {brand} se ainda quiser conectar."),
            .notFinished: ("Este cadastro não foi concluído", "Cada link de cadastro funciona uma única vez. Peça um novo link a {brand} para tentar de novo."),
            .replaced: ("Este link foi substituído por um mais recente", "Use o link mais recente que você recebeu ou peça um novo."),
            .missing: ("Este link não existe", "Verifique se o link foi copiado por inteiro ou peça um novo."),
        ],
        .spanish: [
            .expired: ("Este enlace ha caducado", "Los enlaces de registro funcionan durante un tiempo limitado. Pide uno nuevo a {brand}."),
            .completed: ("{tenant} está conectado", "Este enlace ya cumplió su función: el número de WhatsApp está conectado a {brand}. No hay nada más que hacer aquí."),
            .awaitingNumber: ("{tenant} está casi conectado", "La cuenta de WhatsApp Business está conectada a {brand}; su número de teléfono se conectará en cuanto Meta lo muestre verificado. No hay nada más que hacer aquí."),
            .exchanging: ("Se está conectando tu número", "Tardará un momento; puedes cerrar esta página. {brand} confirmará cuando termine."),
            .withdrawn: ("Este enlace fue retirado", "{brand} retiró este enlace. Pide uno nuevo a {brand} si todavía quieres conectarte."),
            .notFinished: ("Este registro no se completó", "Cada enlace de registro funciona una sola vez. Pide un enlace nuevo a {brand} para intentarlo de nuevo."),
            .replaced: ("Este enlace fue reemplazado por uno más reciente", "Usa el enlace más reciente que te enviaron o pide uno nuevo."),
            .missing: ("Este enlace no existe", "Comprueba que copiaste el enlace completo o pide uno nuevo."),
        ],
        .indonesian: [
            .expired: ("Tautan ini sudah kedaluwarsa", "Tautan pendaftaran hanya berlaku untuk waktu terbatas. Mintalah tautan baru kepada {brand}."),
            .completed: ("{tenant} sudah terhubung", "Tautan ini sudah selesai digunakan: nomor WhatsApp sudah terhubung ke {brand}. Tidak ada lagi yang perlu dilakukan di sini."),
            .awaitingNumber: ("{tenant} hampir terhubung", "Akun WhatsApp Business sudah terhubung ke {brand}; nomor teleponnya menyusul segera setelah Meta menampilkannya sebagai terverifikasi. Tidak ada lagi yang perlu dilakukan di sini."),
            .exchanging: ("Nomor Anda sedang dihubungkan", "Ini memerlukan waktu sebentar; Anda boleh menutup halaman ini. {brand} akan mengonfirmasi setelah selesai."),
            .withdrawn: ("Tautan ini sudah ditarik", "{brand} menarik tautan ini. Mintalah tautan baru kepada {brand} jika Anda masih ingin menghubungkan."),
            .notFinished: ("Pendaftaran ini tidak selesai", "Setiap tautan pendaftaran hanya berlaku sekali. Mintalah tautan baru kepada {brand} untuk mencoba lagi."),
            .replaced: ("Tautan ini sudah diganti dengan yang lebih baru", "Gunakan tautan terbaru yang dikirimkan kepada Anda, atau mintalah tautan baru."),
            .missing: ("Tautan ini tidak ada", "Pastikan seluruh tautan tersalin, atau mintalah tautan baru."),
        ],
        .hindi: [
            .expired: ("इस लिंक की समय-सीमा समाप्त हो गई है", "ऑनबोर्डिंग लिंक सीमित समय तक ही काम करते हैं। {brand} से नया लिंक माँगें।"),
            .completed: ("{tenant} कनेक्ट हो गया है", "इस लिंक का काम पूरा हो गया है: WhatsApp नंबर {brand} से कनेक्ट है। यहाँ अब कुछ और करने की ज़रूरत नहीं है।"),
            .awaitingNumber: ("{tenant} लगभग कनेक्ट हो गया है", "WhatsApp Business खाता {brand} से कनेक्ट है; Meta द्वारा फ़ोन नंबर को सत्यापित दिखाते ही वह भी जुड़ जाएगा। यहाँ अब कुछ और करने की ज़रूरत नहीं है।"),
            .exchanging: ("आपका नंबर कनेक्ट किया जा रहा है", "इसमें थोड़ा समय लगता है; आप यह पेज बंद कर सकते हैं। पूरा होने पर {brand} पुष्टि करेगा।"),
            .withdrawn: ("यह लिंक वापस ले लिया गया है", "{brand} ने यह लिंक वापस ले लिया है। अगर आप अब भी कनेक्ट करना चाहते हैं, तो {brand} से नया लिंक माँगें।"),
            .notFinished: ("यह साइन-अप पूरा नहीं हुआ", "हर ऑनबोर्डिंग लिंक एक ही बार काम करता है। फिर से कोशिश करने के लिए {brand} से नया लिंक माँगें।"),
            .replaced: ("इस लिंक की जगह एक नया लिंक भेजा गया है", "आपको भेजा गया सबसे नया लिंक इस्तेमाल करें, या नया लिंक माँगें।"),
            .missing: ("यह लिंक मौजूद नहीं है", "जाँच लें कि पूरा लिंक कॉपी हुआ है, या नया लिंक माँगें।"),
        ],
        .german: [
            .expired: ("Dieser Link ist abgelaufen", "Onboarding-Links gelten nur für begrenzte Zeit. Bitten Sie {brand} um einen neuen."),
            .completed: ("{tenant} ist verbunden", "Dieser Link hat seinen Zweck erfüllt: Die WhatsApp-Nummer ist mit {brand} verbunden. Hier ist nichts mehr zu tun."),
            .awaitingNumber: ("{tenant} ist fast verbunden", "Das WhatsApp-Business-Konto ist mit {brand} verbunden; die Telefonnummer folgt, sobald Meta sie als verifiziert anzeigt. Hier ist nichts mehr zu tun."),
            .exchanging: ("Ihre Nummer wird verbunden", "Das dauert einen Moment; Sie können diese Seite schließen. {brand} bestätigt, wenn es fertig ist."),
            .withdrawn: ("Dieser Link wurde zurückgezogen", "{brand} hat diesen Link zurückgezogen. Bitten Sie {brand} um einen neuen, wenn Sie sich weiterhin verbinden möchten."),
            .notFinished: ("Diese Anmeldung wurde nicht abgeschlossen", "Jeder Onboarding-Link funktioniert nur einmal. Bitten Sie {brand} um einen neuen Link, um es erneut zu versuchen."),
            .replaced: ("Dieser Link wurde durch einen neueren ersetzt", "Verwenden Sie den neuesten Link, den Sie erhalten haben, oder bitten Sie um einen neuen."),
            .missing: ("Diesen Link gibt es nicht", "Prüfen Sie, ob der ganze Link kopiert wurde, oder bitten Sie um einen neuen."),
        ],
        .french: [
            .expired: ("Ce lien a expiré", "Les liens d’inscription ne fonctionnent que pendant une durée limitée. Demandez-en un nouveau à {brand}."),
            .completed: ("{tenant} est connecté", "Ce lien a rempli son rôle : le numéro WhatsApp est connecté à {brand}. Il n’y a plus rien à faire ici."),
            .awaitingNumber: ("{tenant} est presque connecté", "Le compte WhatsApp Business est connecté à {brand} ; son numéro de téléphone suivra dès que Meta l’affichera comme vérifié. Il n’y a plus rien à faire ici."),
            .exchanging: ("Votre numéro est en cours de connexion", "Cela prend un instant ; vous pouvez fermer cette page. {brand} confirmera une fois terminé."),
            .withdrawn: ("Ce lien a été retiré", "{brand} a retiré ce lien. Demandez-en un nouveau à {brand} si vous souhaitez toujours vous connecter."),
            .notFinished: ("Cette inscription n’a pas abouti", "Chaque lien d’inscription ne fonctionne qu’une fois. Demandez un nouveau lien à {brand} pour réessayer."),
            .replaced: ("Ce lien a été remplacé par un plus récent", "Utilisez le lien le plus récent qui vous a été envoyé, ou demandez-en un nouveau."),
            .missing: ("Ce lien n’existe pas", "Vérifiez que le lien a été copié en entier, ou demandez-en un nouveau."),
        ],
        .italian: [
            .expired: ("Questo link è scaduto", "I link di registrazione funzionano per un tempo limitato. Chiedine uno nuovo a {brand}."),
            .completed: ("{tenant} è collegato", "Questo link ha svolto il suo compito: il numero WhatsApp è collegato a {brand}. Qui non c’è altro da fare."),
            .awaitingNumber: ("{tenant} è quasi collegato", "L’account WhatsApp Business è collegato a {brand}; il numero di telefono seguirà non appena Meta lo mostrerà come verificato. Qui non c’è altro da fare."),
            .exchanging: ("Il tuo numero è in fase di collegamento", "Ci vuole un momento; puoi chiudere questa pagina. {brand} confermerà quando avrà finito."),
            .withdrawn: ("Questo link è stato ritirato", "{brand} ha ritirato questo link. Chiedine uno nuovo a {brand} se vuoi ancora collegarti."),
            .notFinished: ("Questa registrazione non è stata completata", "Ogni link di registrazione funziona una sola volta. Chiedi un nuovo link a {brand} per riprovare."),
            .replaced: ("Questo link è stato sostituito da uno più recente", "Usa il link più recente che ti è stato inviato, oppure chiedine uno nuovo."),
            .missing: ("Questo link non esiste", "Controlla di aver copiato il link per intero, oppure chiedine uno nuovo."),
        ],
    ]
}
